#pragma once
// What a person reads in place of a schema's codes, in every language Haven
// is shown in: the labels of record types, fields, codes, tallies and
// measures, and the few words every table needs. An immutable value made
// when the schema is parsed; safe to share between threads.
//
// In haven.schema.json: "labels": {"en": {KEY: LABEL, ...}, "sl": {...}}, KEY
// one of "type.T", "field.F", "code.F.C" (F a field of any type), "tally.ID",
// "measure.ID.M" or "word.W" (total, subtotal, not_recorded, other, yes, no).
// A label a language does not give is the English one, else what the schema
// says anyway: a type's or tally's title, a measure's title, a country's short
// name (country_name), the code itself.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace haven {

enum class language { en, sl };
inline constexpr std::array<language, 2> languages{language::en, language::sl};

// "en" or "sl".
std::string_view to_string(language lang);
// nullopt for anything but "en" and "sl".
std::optional<language> parse_language(std::string_view code);

// The short name of the country with ISO 3166-1 alpha-2 `code` (e.g. "RS":
// "Serbia", "Srbija"), from schema/countries.json (made from Debian's
// iso-codes by scripts/make_countries.py); nullopt for any other code.
std::optional<std::string_view> country_name(language lang, std::string_view code);

class labels {
 public:
  using table = std::map<std::string, std::string, std::less<>>;

  // Each label in `lang`; for a part the schema does not have, the name it
  // was asked by (a code the schema does not list, e.g. "new-site", shows as
  // it is).
  std::string_view type(language lang, std::string_view type) const;
  std::string_view field(language lang, std::string_view field) const;
  // The code "" (a field with no value) is the word not_recorded.
  std::string_view code(language lang, std::string_view field, std::string_view code) const;
  std::string_view tally(language lang, std::string_view id) const;
  std::string_view measure(language lang, std::string_view tally, std::string_view measure) const;
  std::string_view word(language lang, std::string_view word) const;
  // Every label in `lang`, by key: what an app that renders itself needs.
  const table& all(language lang) const;

  // Used by the schema parser: the resolved tables.
  explicit labels(std::array<table, languages.size()> tables) : tables_(std::move(tables)) {}
  labels() = default;

 private:
  // The label of `key`, else `name`.
  std::string_view find(language lang, std::string_view key, std::string_view name) const;

  std::array<table, languages.size()> tables_;
};

}  // namespace haven
