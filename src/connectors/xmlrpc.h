// XML-RPC (http://xmlrpc.com/spec.md) values, calls and responses, as Odoo's external API
// speaks them (Python's xmlrpc.client with allow_none): int/i4/i8, double, boolean, string,
// dateTime.iso8601, base64, nil, array and struct, with XML entity escaping. The decoder is a
// small self-contained XML reader for exactly this vocabulary; it refuses DOCTYPEs (no entity
// expansion) and nesting deeper than 200 levels.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dew::connectors {

//! One XML-RPC value. A value type: copyable, not thread-safe for concurrent mutation.
class XmlRpcValue {
 public:
  enum class Type { kNil, kBoolean, kInt, kDouble, kString, kDateTime, kBase64, kArray, kStruct };
  using Member = std::pair<std::string, XmlRpcValue>;

  XmlRpcValue() = default;  //!< nil
  static XmlRpcValue Nil() { return XmlRpcValue(); }
  static XmlRpcValue Boolean(bool value);
  static XmlRpcValue Int(int64_t value);
  static XmlRpcValue Double(double value);
  //! A double decoded from the wire, keeping its exact text for text().
  static XmlRpcValue Double(double value, std::string wire_text);
  static XmlRpcValue String(std::string value);
  //! `iso` as written on the wire, e.g. "20240131T10:00:00".
  static XmlRpcValue DateTime(std::string iso);
  //! `bytes` are the decoded bytes; they travel base64-encoded.
  static XmlRpcValue Base64(std::string bytes);
  static XmlRpcValue Array(std::vector<XmlRpcValue> items);
  //! Members keep their order; a repeated name keeps every copy (Find returns the first).
  static XmlRpcValue Struct(std::vector<Member> members);

  Type type() const { return type_; }
  //! The type as XML-RPC names it ("int", "struct" …), for messages.
  const char* TypeName() const;
  bool is_nil() const { return type_ == Type::kNil; }

  //! Accessors return the zero value (false, 0, "", empty) when the type differs.
  bool boolean() const { return type_ == Type::kBoolean && int_ != 0; }
  int64_t integer() const { return type_ == Type::kInt ? int_ : 0; }
  //! kDouble's value (kInt converted).
  double number() const;
  //! kString's text, kDateTime's ISO text, kBase64's decoded bytes; kDouble's text as it was
  //! written on the wire (exact, for monetary amounts).
  const std::string& text() const { return text_; }
  const std::vector<XmlRpcValue>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }
  //! The first member named `name`, or nullptr (also for non-structs).
  const XmlRpcValue* Find(const std::string& name) const;

  //! JSON view: nil → null, boolean → bool, int → integer, double → number, string and
  //! dateTime → string, base64 → its base64 text, array → array, struct → object (the first
  //! of repeated names wins).
  nlohmann::json ToJson() const;
  //! XML-RPC from JSON: null → nil, bool, integers → int, other numbers → double, strings,
  //! arrays, objects → struct (keys in the object's order).
  static XmlRpcValue FromJson(const nlohmann::json& json);

 private:
  Type type_ = Type::kNil;
  int64_t int_ = 0;
  double double_ = 0;
  std::string text_;
  std::vector<XmlRpcValue> items_;
  std::vector<Member> members_;
};

//! A decoded <methodCall>.
struct XmlRpcCall {
  std::string method;
  std::vector<XmlRpcValue> params;
};

//! A decoded <methodResponse>: either one value or a fault.
struct XmlRpcResponse {
  bool is_fault = false;
  XmlRpcValue value;         //!< the result (when not a fault)
  int64_t fault_code = 0;    //!< faultCode (when a fault)
  std::string fault_string;  //!< faultString (when a fault)
};

//! `<?xml …?><methodCall>…</methodCall>`. Never fails.
std::string EncodeMethodCall(const std::string& method, const std::vector<XmlRpcValue>& params);
//! A <methodResponse> with one param. Never fails.
std::string EncodeMethodResponse(const XmlRpcValue& value);
//! A <methodResponse> carrying <fault> with faultCode and faultString. Never fails.
std::string EncodeFault(int64_t code, const std::string& message);
//! One <value>…</value> element. Never fails.
std::string EncodeValue(const XmlRpcValue& value);

//! Parses a <methodCall>. InvalidArgument naming the line and the problem on malformed XML or
//! an unknown type.
Result<XmlRpcCall> DecodeMethodCall(const std::string& xml);
//! Parses a <methodResponse> (value or fault). InvalidArgument naming the line and the problem.
Result<XmlRpcResponse> DecodeMethodResponse(const std::string& xml);

//! Standard base64 (RFC 4648, with padding).
std::string Base64Encode(const std::string& bytes);
//! Decodes base64, ignoring whitespace. InvalidArgument on any other non-alphabet character.
Result<std::string> Base64Decode(const std::string& text);

}  // namespace dew::connectors
