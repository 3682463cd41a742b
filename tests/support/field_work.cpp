#include "field_work.hpp"

#include <algorithm>
#include <cstdio>
#include <haven/core/clock.hpp>

namespace haven::test {
namespace {
const std::vector<std::string> sites{"vic", "logatec", "postojna", "other"};
const std::vector<std::string> sexes{"female", "male", "other", "unknown"};
const std::vector<std::string> nations{"UA", "SY", "AF", "NG", "SI", "XX"};
const std::vector<std::string> topics{"thb", "sexual-violence", "gbv"};
const std::vector<std::string> programmes{"crisis-accommodation", "safe-accommodation",
                                          "reintegration"};
const std::vector<std::string> exploitation{"sexual", "forced-labour", "labour", "begging",
                                            "forced-marriage"};
const std::vector<std::string> services{"accommodation", "food", "psychological",
                                        "legal-information", "escort"};
const std::vector<std::string> callers{"police", "ngo", "victim", "social-work-centre", "other"};
const std::vector<std::string> outcomes{"admitted", "prepared-not-admitted", "advice-only",
                                        "referred-elsewhere"};
const std::vector<std::string> audiences{"primary-school", "secondary-school", "professionals",
                                         "general-public"};
const std::vector<std::string> regions{"gorenjska", "goriska",  "koroska",
                                       "podravska", "pomurska", "zasavska"};
}  // namespace

std::string field_work::some(const std::vector<std::string>& codes) {
  std::string out;
  for (const auto& c : codes)
    if (pick(3) == 0) out += (out.empty() ? "" : ",") + c;
  return out;
}

std::string field_work::day(int year) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, 1 + pick(12), 1 + pick(28));
  // Sessions, calls and workshops cannot be in the future: none after today.
  return to_string(std::min(*parse_date(buf), today_local()));
}

client::record_input field_work::new_record() {
  const int year = 2025 + pick(2);
  switch (pick(5)) {
    case 0:
      return {"pats_session",
              "",
              {{"date", day(year)},
               {"site", any(sites)},
               {"format", "individual"},
               {"person", person()},
               {"sex", any(sexes)},
               {"nationality", any(nations)},
               {"topics", some(topics)}}};
    case 1:
      return {"pats_session",
              "",
              {{"date", day(year)},
               {"site", any(sites)},
               {"format", "group"},
               {"participants", std::to_string(2 + pick(30))},
               {"topics", some(topics)}}};
    case 2: {
      // A stay of 0-29 days, sometimes across New Year, sometimes still open.
      const std::string programme = any(programmes);
      const std::string admitted =
          pick(4) == 0 ? "2025-12-" + std::to_string(10 + pick(19)) : day(year);
      client::record_input r{"assistance_case",
                             "",
                             {{"programme", programme},
                              {"person", person()},
                              {"sex", any(sexes)},
                              {"nationality", any(nations)},
                              {"admitted", admitted},
                              {"exploitation", some(exploitation)},
                              {"services", some(services)}}};
      if (pick(3) != 0) {
        const date a = *parse_date(admitted);
        r.fields.emplace_back("discharged", to_string(date{a.days + pick(30)}));
      }
      return r;
    }
    case 3:
      return {"on_call_event",
              "",
              {{"date", day(year)},
               {"caller", any(callers)},
               {"outcome", any(outcomes)},
               {"response_minutes", std::to_string(pick(180))}}};
    default:
      return {"prevention_workshop",
              "",
              {{"date", day(year)},
               {"audience", any(audiences)},
               {"region", any(regions)},
               {"participants", std::to_string(1 + pick(40))},
               {"teachers", std::to_string(pick(4))}}};
  }
}

std::vector<client::field_edit> field_work::edit(const client::record& r) {
  using op = client::field_edit::op;
  if (r.type == "pats_session") {
    switch (pick(3)) {
      case 0:
        return {{"site", op::set, any(sites)}};
      case 1:
        return {{"topics", pick(2) ? op::add : op::remove, any(topics)}};
      default:
        if (r.fields.count("person")) return {{"nationality", op::set, any(nations)}};
        return {{"participants", op::set, std::to_string(2 + pick(30))}};
    }
  }
  if (r.type == "assistance_case") {
    switch (pick(4)) {
      case 0:
        return {{"nationality", op::set, any(nations)}};
      case 1:
        return {{"services", pick(2) ? op::add : op::remove, any(services)}};
      case 2:
        return {{"exploitation", pick(2) ? op::add : op::remove, any(exploitation)}};
      default:
        return {{"sex", op::set, any(sexes)}};
    }
  }
  if (r.type == "on_call_event") return {{"outcome", op::set, any(outcomes)}};
  return {{"participants", op::set, std::to_string(1 + pick(40))},
          {"region", op::set, any(regions)}};
}

}  // namespace haven::test
