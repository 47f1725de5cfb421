#pragma once

#include "storage/records.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <string>

/// What the REGISTRY exchanges with the REST front besides the stored records.
namespace exc {

/// A new account and its first API key (shown once, stored only as a hash).
struct new_account {
  storage::account_record account;
  std::string api_key;
};

/// The query a browser brings back from Microsoft's sign-in page.
struct sign_in_return {
  std::string state;
  std::string code;
  std::string error; ///< "" unless the sign-in was refused
  std::string error_description;
};

/// The query a browser brings back from Microsoft's admin consent page.
struct admin_consent_return {
  std::string state;
  std::string tenant;        ///< the tenant's id, as Microsoft sends it
  std::string admin_consent; ///< "True" once the administrator consented
  std::string error;         ///< "" unless the consent was refused
  std::string error_description;
};

} // namespace exc

// Process-local: records of the registry on their way to the REST front.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::new_account)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::sign_in_return)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::admin_consent_return)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::storage::tenant_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<::storage::tenant_record>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::storage::account_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::storage::account_settings)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::storage::mailbox_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::storage::error_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<::storage::account_record>)
