/**
 * The Lua scripts behind RedisCounters: each call is one EVALSHA, whatever the number of keys.
 * Slots are absolute numbers (floor(now / slot length)) computed by the caller from its `now`;
 * a key's window ends at the latest slot it has seen, so a late call never drops newer hits.
 */

/**
 * KEYS: one hash per counter (`<prefix>c:<key>`), field = slot number, value = hits.
 * ARGV: slot, slots, ttl ms. Returns the counts, in KEYS order.
 */
export const HIT_SCRIPT = `
local cur = tonumber(ARGV[1])
local slots = tonumber(ARGV[2])
local ttl = ARGV[3]
local out = {}
for i, k in ipairs(KEYS) do
  local all = redis.call('HGETALL', k)
  local head = cur
  for j = 1, #all, 2 do
    local s = tonumber(all[j])
    if s > head then head = s end
  end
  local low = head - slots
  local sum = 0
  if cur > low then
    redis.call('HINCRBY', k, ARGV[1], 1)
    sum = 1
  end
  for j = 1, #all, 2 do
    if tonumber(all[j]) <= low then
      redis.call('HDEL', k, all[j])
    else
      sum = sum + tonumber(all[j + 1])
    end
  end
  redis.call('PEXPIRE', k, ttl)
  out[i] = sum
end
return out
`;

/** KEYS and ARGV as HIT_SCRIPT; adds nothing and changes nothing. */
export const COUNT_SCRIPT = `
local cur = tonumber(ARGV[1])
local slots = tonumber(ARGV[2])
local out = {}
for i, k in ipairs(KEYS) do
  local all = redis.call('HGETALL', k)
  local head = cur
  for j = 1, #all, 2 do
    local s = tonumber(all[j])
    if s > head then head = s end
  end
  local sum = 0
  for j = 1, #all, 2 do
    if tonumber(all[j]) > head - slots then sum = sum + tonumber(all[j + 1]) end
  end
  out[i] = sum
end
return out
`;

/**
 * KEYS: one sorted set per key (`<prefix>d:<key>`): members prefixed `m`, scored by their
 * latest slot, while the key has at most `bound` of them; past that the set holds only the
 * marker `s` (scored by the latest slot) and the members go to one HyperLogLog per slot,
 * `<prefix>h:<key>@<slot>`, counted together with PFCOUNT (which answers their union).
 * ARGV: slot, slots, set ttl ms, bound, member, prefix, slot length ms, now ms.
 */
export const DISTINCT_SCRIPT = `
local cur = tonumber(ARGV[1])
local slots = tonumber(ARGV[2])
local ttl = ARGV[3]
local bound = tonumber(ARGV[4])
local member = ARGV[5]
local skip = #ARGV[6] + 3
local slotMs = tonumber(ARGV[7])
local now = tonumber(ARGV[8])
local out = {}
local function hll(z, s)
  return ARGV[6] .. 'h:' .. string.sub(z, skip) .. '@' .. string.format('%d', s)
end
local function pfadd(z, s, m)
  local h = hll(z, s)
  redis.call('PFADD', h, m)
  local left = math.ceil((s + slots + 1) * slotMs - now)
  if left < 1 then left = 1 end
  redis.call('PEXPIRE', h, left)
end
for i, z in ipairs(KEYS) do
  local top = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
  local head = cur
  if #top > 0 and tonumber(top[2]) > head then head = tonumber(top[2]) end
  local low = head - slots
  redis.call('ZREMRANGEBYSCORE', z, '-inf', low)
  local sketch = redis.call('ZSCORE', z, 's')
  if cur > low then
    if sketch then
      redis.call('ZADD', z, 'GT', cur, 's')
      pfadd(z, cur, member)
    else
      redis.call('ZADD', z, 'GT', cur, 'm' .. member)
      if redis.call('ZCARD', z) > bound then
        local all = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
        for j = 1, #all, 2 do pfadd(z, tonumber(all[j + 1]), string.sub(all[j], 2)) end
        redis.call('DEL', z)
        redis.call('ZADD', z, head, 's')
        sketch = true
      end
    end
  end
  if sketch then
    local names = {}
    for s = low + 1, head do names[#names + 1] = hll(z, s) end
    out[i] = redis.call('PFCOUNT', unpack(names))
  else
    out[i] = redis.call('ZCARD', z)
  end
  redis.call('PEXPIRE', z, ttl)
end
return out
`;
