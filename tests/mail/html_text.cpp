#define CAF_SUITE mail_html_text
#include <caf/test/unit_test.hpp>

#include "mail/html_text.hpp"

using mail::html_to_text;

CAF_TEST(tags go and blocks become lines) {
  CAF_CHECK_EQUAL(html_to_text("<html><body><p>Disk <b>/var</b> is at 93%</p>"
                               "<p>Please check.</p></body></html>"),
                  "Disk /var is at 93%\n\nPlease check.");
  CAF_CHECK_EQUAL(html_to_text("one<br>two<br/>three"), "one\ntwo\nthree");
  CAF_CHECK_EQUAL(html_to_text("<ul><li>a</li><li>b</li></ul>"), "- a\n- b");
  CAF_CHECK_EQUAL(html_to_text("<div>  lots   of\n\n  space </div>"), "lots of space");
  CAF_CHECK_EQUAL(html_to_text("<pre>keep\n  this</pre>"), "keep\n  this");
}

CAF_TEST(what is not text is dropped) {
  CAF_CHECK_EQUAL(html_to_text("<head><title>T</title><style>p{x:y}</style></head>"
                               "<script>alert(1)</script><!-- hidden -->Hello"),
                  "Hello");
  CAF_CHECK_EQUAL(html_to_text("cut <b"), "cut");
}

CAF_TEST(entities are decoded) {
  CAF_CHECK_EQUAL(
      html_to_text("a &amp; b &lt;c&gt; &quot;d&quot; &euro;5 &#8212; &#x41;"),
      "a & b <c> \"d\" \xE2\x82\xAC"
      "5 \xE2\x80\x94 A");
  CAF_CHECK_EQUAL(html_to_text("x&nbsp;y"), "x y");
  CAF_CHECK_EQUAL(html_to_text("&unknown; & alone"), "&unknown; & alone");
  CAF_CHECK_EQUAL(html_to_text("&#0;&#xD800;"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

CAF_TEST(a spent time budget stops the conversion) {
  std::string html;
  for (int i = 0; i < 1000; ++i)
    html += "<p>more</p>";
  mail::time_budget none{std::chrono::nanoseconds{0}};
  bool stopped = false;
  try {
    html_to_text(html, none);
  } catch (const mail::out_of_time&) {
    stopped = true;
  }
  CAF_CHECK(stopped);
  mail::time_budget ample{std::chrono::hours{1}};
  CAF_CHECK_EQUAL(html_to_text("<p>a</p>", ample), "a");
  // Called off (the process stops): stopped however much time is left.
  std::atomic<bool> called_off{true};
  mail::time_budget off{std::chrono::hours{1}, &called_off};
  stopped = false;
  try {
    html_to_text(html, off);
  } catch (const mail::out_of_time&) {
    stopped = true;
  }
  CAF_CHECK(stopped);
}
