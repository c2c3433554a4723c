// The ranked list's order and its line: pure functions of a reply's claims, no DOM.

// Claims at or above this check-worthiness are listed first; the rest are one click away. Chosen by
// training/desk_threshold.py on the golden cases (tests/golden, offline model; figures in
// training/desk_threshold.json): the highest step of the slider that still lists every claim the cases say a
// fact-checker needs (64 of the 64 the model finds), while 14 of the 15 claims made of headings, greetings,
// opinions and boilerplate fall below it and 72% of all claims stay listed. tests/api/test_desk.py checks that
// the two agree.
export const DEFAULT_THRESHOLD = 0.7;

// Highest check-worthiness first; ties keep the article's order. Nothing but the score moves a claim: filler
// the model ranks down (moderator turns, greetings, questions) stays down.
export function ranked(claims) {
  return [...claims].sort((a, b) => b.checkworthiness - a.checkworthiness || a.source.start - b.source.start);
}

// The ranked claims split at the threshold: those listed first, and those one click away.
export function splitAt(claims, threshold) {
  const order = ranked(claims);
  const cut = order.findIndex((claim) => claim.checkworthiness < threshold);
  return cut < 0 ? { above: order, below: [] } : { above: order.slice(0, cut), below: order.slice(cut) };
}

// The fact-check that matches a claim best (the highest score), or null when the reply carries none.
export function bestFactCheck(claim) {
  const checks = Array.isArray(claim.fact_checks) ? claim.fact_checks : [];
  return checks.reduce((best, check) => (!best || (check.score ?? 0) > (best.score ?? 0) ? check : best), null);
}

// Whether the reply says the claim cannot be understood without the article (absent: it says nothing).
export function needsContext(claim) {
  return claim.standalone === false;
}
