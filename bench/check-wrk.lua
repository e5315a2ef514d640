-- wrk script for bench/check.sh: cycles through the request paths listed (one a line) in the
-- file named by $CHECK_PATHS, each connection starting at a different place.
local paths = {}
local i = 0

function init(args)
  for line in io.lines(os.getenv("CHECK_PATHS")) do
    paths[#paths + 1] = line
  end
  i = math.random(#paths)
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
