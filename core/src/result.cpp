#include <haven/core/result.hpp>

namespace haven {

std::string error::describe() const {
  std::string out = message;
  for (const auto& issue : issues) {
    out += "\n  ";
    if (!issue.field.empty()) out += issue.field + ": ";
    out += issue.message;
  }
  return out;
}

}  // namespace haven
