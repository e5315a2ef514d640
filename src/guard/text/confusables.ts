/**
 * Letters that look like Latin ones (Cyrillic, Greek, Armenian, IPA) and Latin letters that
 * carry no decomposable accent (ø, ł, đ): mapped to plain ASCII so that a name typed with
 * lookalikes counts as the name it imitates. Deliberately small: the lookalikes that evasion
 * kits use, not the whole Unicode confusables table (which would fold unrelated scripts).
 */

/** Capitals whose small form imitates a different Latin letter (Η is H, η is n). */
export const UPPER_CONFUSABLES: ReadonlyMap<string, string> = pairs(
  // Greek capitals
  "ΑaΒbΕeΖzΗhΙiΚkΜmΝnΟoΡpΤtΥyΧx" +
    // Cyrillic capitals
    "АaВbЕeЅsІiЈjКkМmНhОoРpСcТtУyХxҺhԀdԚqԜwӀl",
);

/** Small letters, applied after lower-casing (so a capital not listed above still maps). */
export const LOWER_CONFUSABLES: ReadonlyMap<string, string> = new Map([
  ...pairs(
    // Cyrillic
    "аaвbеeѕsіiјjкkмmнhоoрpсcтtуyхxһhԁdԛqԝwӏlьbѵvԍgҽeɡg" +
      // Greek
      "αaβbγyδdεeζzηnιiκkμuνvοoρpτtυuχxωwςσ" +
      // Armenian
      "օoսuհhոnզqցg" +
      // Latin without a canonical decomposition, and IPA lookalikes
      "øołlđdðdħhŧtıiȷjɑaɩiʏyƅbɒaǝeəe",
  ),
  ["ß", "ss"],
  ["æ", "ae"],
  ["œ", "oe"],
  ["þ", "th"],
]);

function pairs(s: string): Map<string, string> {
  const chars = Array.from(s); // code points: every key here is one
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < chars.length; i += 2) map.set(chars[i]!, chars[i + 1]!);
  return map;
}
