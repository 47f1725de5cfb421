#pragma once

#include <gmime/gmime.h>

#include <memory>

/// GMime glue shared by the files of mail/ (internal: no GMime type leaves mail/).
namespace mail::detail {

/// Initialises GMime once per process; safe to call from any thread, any number of times.
void init_gmime();

/// Drops one GObject reference.
struct gobject_unref {
  void operator()(gpointer object) const {
    if (object != nullptr) g_object_unref(object);
  }
};

/// Owns one reference to a GObject (GMimeMessage, GMimeStream, ...).
template <class T>
using gobject_ptr = std::unique_ptr<T, gobject_unref>;

/// Frees GMimeParserOptions.
struct parser_options_free {
  void operator()(GMimeParserOptions* options) const {
    if (options != nullptr) g_mime_parser_options_free(options);
  }
};

/// Owns a GMimeParserOptions.
using parser_options_ptr = std::unique_ptr<GMimeParserOptions, parser_options_free>;

/// Frees GMimeFormatOptions.
struct format_options_free {
  void operator()(GMimeFormatOptions* options) const {
    if (options != nullptr) g_mime_format_options_free(options);
  }
};

/// Owns a GMimeFormatOptions.
using format_options_ptr = std::unique_ptr<GMimeFormatOptions, format_options_free>;

/// Frees GMimeReferences.
struct references_free {
  void operator()(GMimeReferences* refs) const {
    if (refs != nullptr) g_mime_references_free(refs);
  }
};

/// Owns a GMimeReferences list.
using references_ptr = std::unique_ptr<GMimeReferences, references_free>;

/// Frees memory that GLib allocated (g_free).
struct glib_free {
  void operator()(void* p) const { g_free(p); }
};

/// Owns a string that GLib allocated.
using glib_string = std::unique_ptr<char, glib_free>;

} // namespace mail::detail
