// The article's language: the selector that overrides it ("auto" sends none, so the service decides) and the
// line that says which language the reply read the article in.

// The languages a desk picks from most (those of issue 22's scripts and claimants first); any BCP 47 tag the
// service accepts could be added here.
const LANGUAGES = [
  "en", "es", "fr", "de", "it", "pt", "nl", "pl", "ar", "ur", "hi", "zh", "ja", "ko", "th", "lo", "km", "my",
  "ru", "uk", "tr", "el", "he", "fa", "id", "sv", "da", "no", "fi", "cs", "ro", "hu",
];

// "Spanish (es)" in the page's language, or the bare tag where the browser has no name for it.
export function languageName(tag) {
  let name = null;
  try { name = new Intl.DisplayNames([navigator.language || "en"], { type: "language" }).of(tag); } catch (ignored) { /* unknown tag */ }
  return name && name !== tag ? `${name} (${tag})` : tag;
}

// Fill the selector: "auto" first (the service detects, or uses its default), then each language by name.
export function fillLanguages(select) {
  const named = LANGUAGES.map((tag) => [tag, languageName(tag)]).sort((a, b) => a[1].localeCompare(b[1]));
  select.replaceChildren(new Option("auto", ""), ...named.map(([tag, name]) => new Option(name, tag)));
}

// The language to send: the one picked, or none for "auto".
export function chosenLanguage(select) {
  return select.value || null;
}

// The line shown with the claims: the reply's language, and whether the user chose it or the service read it.
export function describeLanguage(replied, chosen) {
  if (!replied) return "";
  const how = chosen && chosen === replied ? "as chosen" : "as the service read it; pick another above to override";
  return `Language: ${languageName(replied)}, ${how}`;
}
