#define CAF_SUITE storage_address_book
#include <caf/test/unit_test.hpp>

#include "storage/address_book.hpp"

#include <string>
#include <vector>

CAF_TEST(an address book knows addresses added one or many at a time in any case) {
  exc::address_book book;
  book.add("Desk@Contoso.test");
  book.add(std::vector<std::string>{"Sales@Contoso.test", "help@fabrikam.test"});
  CAF_CHECK(book.contains("desk@contoso.test"));
  CAF_CHECK(book.contains("SALES@contoso.TEST"));
  CAF_CHECK(book.contains("Help@Fabrikam.test"));
  CAF_CHECK(!book.contains("other@contoso.test"));
  book.remove("sales@contoso.test");
  CAF_CHECK(!book.contains("Sales@Contoso.test"));
  CAF_CHECK(book.contains("help@fabrikam.test"));
}
