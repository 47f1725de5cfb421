#include "messages/types.hpp"

namespace exc {

const char* to_string(ingest_step s) {
  switch (s) {
  case ingest_step::download:
    return "download";
  case ingest_step::conversion:
    return "conversion";
  case ingest_step::storing:
    return "storing";
  case ingest_step::labelling:
    return "labelling";
  }
  return "download";
}

ingest_step ingest_step_from(const std::string& name) {
  for (auto s : {ingest_step::conversion, ingest_step::storing, ingest_step::labelling})
    if (name == to_string(s)) return s;
  return ingest_step::download;
}

const char* to_string(message_outcome o) {
  switch (o) {
  case message_outcome::pending:
    return "";
  case message_outcome::ticket:
    return "ticket";
  case message_outcome::comment:
    return "comment";
  case message_outcome::duplicate:
    return "duplicate";
  case message_outcome::rejected:
    return "rejected";
  }
  return "";
}

std::optional<message_outcome> message_outcome_from(const std::string& name) {
  for (auto o :
       {message_outcome::pending, message_outcome::ticket, message_outcome::comment,
        message_outcome::duplicate, message_outcome::rejected})
    if (name == to_string(o)) return o;
  return std::nullopt;
}

} // namespace exc
