// The ranked list beside the article: the claims at or above the threshold, the rest one click away, each with
// its marks ("needs context", "checked before"). Builds DOM only; what a click does is the caller's.
import { bestFactCheck, needsContext, splitAt } from "./ranking.js";

const element = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

// A link only to a web page: a reply's URL never runs script in the page.
function safeLink(url, text) {
  let parsed = null;
  try { parsed = new URL(url); } catch (ignored) { /* not a URL */ }
  if (!parsed || !["http:", "https:"].includes(parsed.protocol)) return element("span", "", text);
  const link = element("a", "", text);
  link.href = parsed.href;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  return link;
}

// The marks a claim carries, only for the fields its reply has: "needs context" when it does not stand alone,
// "checked before" with the best fact-check's rating and a link to it when it matched any.
export function claimMarks(claim) {
  const marks = [];
  if (needsContext(claim)) {
    const mark = element("span", "badge context", "needs context");
    mark.title = "This claim cannot be understood without the article: read its quote in context.";
    marks.push(mark);
  }
  const check = bestFactCheck(claim);
  if (check) {
    const mark = element("span", "badge checked", "checked before: ");
    const said = [check.rating || "rated", check.publisher].filter(Boolean).join(" · ");
    mark.append(safeLink(check.url, said));
    mark.title = [check.claim_reviewed, check.title].filter(Boolean).join(" — ");
    marks.push(mark);
  }
  return marks;
}

function claimItem(claim, onSelect, selected) {
  const item = element("li");
  item.dataset.claim = claim.id;
  const button = element("button", "", claim.text);
  button.type = "button";
  button.setAttribute("aria-pressed", String(claim.id === selected));
  button.addEventListener("click", () => onSelect(claim.id));
  const meta = element("div", "meta");
  const score = element("span", "worth", claim.checkworthiness.toFixed(2));
  score.title = "check-worthiness";
  meta.append(score, ` · ${claim.type.replace("_", " ")} · ${claim.claimant || "no claimant"}`);
  const marks = claimMarks(claim);
  if (marks.length) meta.append(" ", ...marks);
  item.append(button, meta);
  if (claim.id === selected) item.classList.add("selected");
  return item;
}

// Fill the list: `claims` (already filtered by type) ranked, split at `threshold`; the part below it shown when
// `expanded`. `onSelect(id)` is called with a clicked claim, `onToggle()` when the "more" button is pressed.
export function renderClaimList({ claims, threshold, expanded, selected, onSelect, onToggle }) {
  const { above, below } = splitAt(claims, threshold);
  const limit = threshold.toFixed(2);
  document.getElementById("claims").replaceChildren(...above.map((claim) => claimItem(claim, onSelect, selected)));
  const rest = document.getElementById("claims-below");
  rest.start = above.length + 1;
  rest.replaceChildren(...below.map((claim) => claimItem(claim, onSelect, selected)));
  rest.hidden = !expanded || !below.length;
  const more = document.getElementById("more");
  more.hidden = !below.length;
  more.setAttribute("aria-expanded", String(expanded));
  more.textContent = expanded ? `Hide the ${below.length} below ${limit}` : `Show ${below.length} more below ${limit}`;
  more.onclick = onToggle;
  const none = document.getElementById("claims-none");
  none.hidden = above.length > 0;
  none.textContent = claims.length ? `No claim reaches ${limit}.` : "No claim to list.";
  return { above, below };
}

// Mark the list's item for `id` as the selected one and bring it into the list's view (not the page's).
export function selectInList(id, scroll) {
  document.querySelectorAll(".claims li.selected").forEach((item) => {
    item.classList.remove("selected");
    item.querySelector("button").setAttribute("aria-pressed", "false");
  });
  const item = id && document.querySelector(`.claims li[data-claim="${id}"]`);
  if (!item) return;
  item.classList.add("selected");
  item.querySelector("button").setAttribute("aria-pressed", "true");
  const list = item.closest(".ranked");
  if (scroll && list && list.scrollHeight > list.clientHeight) {
    const [box, frame] = [item.getBoundingClientRect(), list.getBoundingClientRect()];
    if (box.top < frame.top || box.bottom > frame.bottom) list.scrollTop += box.top - frame.top - frame.height / 3;
  }
}
