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

} // namespace exc
