#include "connectors/xmlrpc.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dew::connectors {

namespace {

constexpr int kMaxDepth = 200;

// --- Writing -------------------------------------------------------------------------------

void Escape(const std::string& text, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '&':
        *out += "&amp;";
        break;
      case '<':
        *out += "&lt;";
        break;
      case '>':
        *out += "&gt;";
        break;
      case '\r':
        // A literal CR would be normalised to LF by any XML reader.
        *out += "&#13;";
        break;
      default:
        *out += c;
    }
  }
}

std::string DoubleText(double d) {
  if (!std::isfinite(d)) return "0";  // XML-RPC has no NaN or infinity
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  std::string s(buf, ec == std::errc() ? end : buf);
  // XML-RPC doubles have no exponent form.
  if (s.find_first_of("eE") != std::string::npos) {
    std::snprintf(buf, sizeof(buf), "%.17f", d);
    s = buf;
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (s.back() == '.') s.push_back('0');
  }
  return s;
}

void Write(const XmlRpcValue& v, std::string* out) {
  *out += "<value>";
  switch (v.type()) {
    case XmlRpcValue::Type::kNil:
      *out += "<nil/>";
      break;
    case XmlRpcValue::Type::kBoolean:
      *out += v.boolean() ? "<boolean>1</boolean>" : "<boolean>0</boolean>";
      break;
    case XmlRpcValue::Type::kInt:
      *out += "<int>" + std::to_string(v.integer()) + "</int>";
      break;
    case XmlRpcValue::Type::kDouble:
      *out += "<double>" + DoubleText(v.number()) + "</double>";
      break;
    case XmlRpcValue::Type::kString:
      *out += "<string>";
      Escape(v.text(), out);
      *out += "</string>";
      break;
    case XmlRpcValue::Type::kDateTime:
      *out += "<dateTime.iso8601>";
      Escape(v.text(), out);
      *out += "</dateTime.iso8601>";
      break;
    case XmlRpcValue::Type::kBase64:
      *out += "<base64>" + Base64Encode(v.text()) + "</base64>";
      break;
    case XmlRpcValue::Type::kArray:
      *out += "<array><data>";
      for (const XmlRpcValue& item : v.items()) Write(item, out);
      *out += "</data></array>";
      break;
    case XmlRpcValue::Type::kStruct:
      *out += "<struct>";
      for (const auto& [name, member] : v.members()) {
        *out += "<member><name>";
        Escape(name, out);
        *out += "</name>";
        Write(member, out);
        *out += "</member>";
      }
      *out += "</struct>";
      break;
  }
  *out += "</value>";
}

// --- Reading -------------------------------------------------------------------------------

struct XmlElement {
  std::string name;
  std::string text;  // character data directly inside, entities decoded
  std::vector<XmlElement> children;
  int line = 1;
};

// A recursive-descent reader for the XML that XML-RPC uses: elements, attributes (ignored),
// character data, entity and character references, CDATA, comments and processing
// instructions. No DOCTYPE, no namespaces.
class XmlReader {
 public:
  explicit XmlReader(const std::string& text) : s_(text) {}

  Result<XmlElement> Document() {
    SkipMisc();
    if (pos_ >= s_.size() || s_[pos_] != '<') return Fail("expected a root element");
    if (StartsWith("<!")) return Fail("DOCTYPE and entity declarations are not accepted");
    XmlElement root;
    DEW_RETURN_IF_ERROR(Element(&root, 0));
    SkipMisc();
    if (pos_ != s_.size()) return Fail("unexpected content after the root element");
    return root;
  }

 private:
  Status Fail(const std::string& problem) const {
    int line = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) line += s_[i] == '\n';
    return Status::InvalidArgument("XML-RPC: line " + std::to_string(line) + ": " + problem);
  }
  int Line() const {
    int line = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) line += s_[i] == '\n';
    return line;
  }
  bool StartsWith(const char* prefix) const {
    return s_.compare(pos_, std::strlen(prefix), prefix) == 0;
  }
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool IsNameChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == ':' || static_cast<unsigned char>(c) >= 0x80;
  }

  // Whitespace, comments and processing instructions between elements.
  Status SkipMiscChecked() {
    while (pos_ < s_.size()) {
      if (IsSpace(s_[pos_])) {
        ++pos_;
      } else if (StartsWith("<?")) {
        size_t end = s_.find("?>", pos_);
        if (end == std::string::npos) return Fail("unterminated processing instruction");
        pos_ = end + 2;
      } else if (StartsWith("<!--")) {
        size_t end = s_.find("-->", pos_);
        if (end == std::string::npos) return Fail("unterminated comment");
        pos_ = end + 3;
      } else {
        break;
      }
    }
    return Status::OK();
  }
  void SkipMisc() { (void)SkipMiscChecked(); }

  Status Reference(std::string* out) {
    size_t end = s_.find(';', pos_);
    if (end == std::string::npos || end - pos_ > 12) return Fail("unterminated entity reference");
    const std::string ref = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    if (ref == "amp") {
      *out += '&';
    } else if (ref == "lt") {
      *out += '<';
    } else if (ref == "gt") {
      *out += '>';
    } else if (ref == "quot") {
      *out += '"';
    } else if (ref == "apos") {
      *out += '\'';
    } else if (ref.size() > 1 && ref[0] == '#') {
      const bool hex = ref[1] == 'x' || ref[1] == 'X';
      const std::string digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      auto [p, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
          cp > 0x10FFFF || cp == 0)
        return Fail("bad character reference &" + ref + ";");
      // UTF-8 encode.
      if (cp < 0x80) {
        *out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        *out += static_cast<char>(0xC0 | (cp >> 6));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        *out += static_cast<char>(0xE0 | (cp >> 12));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        *out += static_cast<char>(0xF0 | (cp >> 18));
        *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
      }
    } else {
      return Fail("unknown entity &" + ref + ";");
    }
    return Status::OK();
  }

  Status Element(XmlElement* e, int depth) {
    if (depth > kMaxDepth) return Fail("nesting deeper than " + std::to_string(kMaxDepth));
    e->line = Line();
    ++pos_;  // '<'
    size_t start = pos_;
    while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
    e->name = s_.substr(start, pos_ - start);
    if (e->name.empty()) return Fail("expected an element name");
    // Attributes: skipped, but their quoted values may hold '>'.
    while (true) {
      while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
      if (pos_ >= s_.size()) return Fail("unterminated tag <" + e->name + ">");
      if (s_[pos_] == '/') {
        if (pos_ + 1 >= s_.size() || s_[pos_ + 1] != '>') return Fail("bad empty tag <" + e->name);
        pos_ += 2;
        return Status::OK();
      }
      if (s_[pos_] == '>') {
        ++pos_;
        break;
      }
      while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
      if (pos_ >= s_.size() || s_[pos_] != '=') return Fail("bad attribute in <" + e->name + ">");
      ++pos_;
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\''))
        return Fail("unquoted attribute in <" + e->name + ">");
      size_t end = s_.find(s_[pos_], pos_ + 1);
      if (end == std::string::npos) return Fail("unterminated attribute in <" + e->name + ">");
      pos_ = end + 1;
    }
    // Content.
    while (true) {
      if (pos_ >= s_.size()) return Fail("missing </" + e->name + ">");
      char c = s_[pos_];
      if (c == '&') {
        DEW_RETURN_IF_ERROR(Reference(&e->text));
      } else if (c != '<') {
        size_t end = s_.find_first_of("<&", pos_);
        if (end == std::string::npos) end = s_.size();
        e->text.append(s_, pos_, end - pos_);
        pos_ = end;
      } else if (StartsWith("</")) {
        pos_ += 2;
        size_t start_name = pos_;
        while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
        const std::string name = s_.substr(start_name, pos_ - start_name);
        if (name != e->name)
          return Fail("</" + name + "> closes <" + e->name + "> (opened on line " +
                      std::to_string(e->line) + ")");
        while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
        if (pos_ >= s_.size() || s_[pos_] != '>') return Fail("bad end tag </" + name);
        ++pos_;
        return Status::OK();
      } else if (StartsWith("<![CDATA[")) {
        size_t end = s_.find("]]>", pos_);
        if (end == std::string::npos) return Fail("unterminated CDATA section");
        e->text.append(s_, pos_ + 9, end - pos_ - 9);
        pos_ = end + 3;
      } else if (StartsWith("<!--") || StartsWith("<?")) {
        DEW_RETURN_IF_ERROR(SkipMiscChecked());
      } else if (StartsWith("<!")) {
        return Fail("DOCTYPE and entity declarations are not accepted");
      } else {
        e->children.emplace_back();
        DEW_RETURN_IF_ERROR(Element(&e->children.back(), depth + 1));
      }
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
};

Status Bad(const XmlElement& e, const std::string& problem) {
  return Status::InvalidArgument("XML-RPC: line " + std::to_string(e.line) + ": <" + e.name +
                                 ">: " + problem);
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

const XmlElement* Child(const XmlElement& e, const char* name) {
  for (const XmlElement& c : e.children) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<XmlRpcValue> ReadValue(const XmlElement& value) {
  if (value.name != "value") return Bad(value, "expected <value>");
  if (value.children.empty()) return XmlRpcValue::String(value.text);  // untyped: a string
  if (value.children.size() > 1) return Bad(value, "holds more than one typed element");
  const XmlElement& t = value.children.front();
  const std::string text = Trim(t.text);
  if (t.name == "int" || t.name == "i4" || t.name == "i8") {
    int64_t v = 0;
    const char* b = text.data();
    if (!text.empty() && text[0] == '+') ++b;
    auto [p, ec] = std::from_chars(b, text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size())
      return Bad(t, "'" + text + "' is not an integer");
    return XmlRpcValue::Int(v);
  }
  if (t.name == "double") {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size())
      return Bad(t, "'" + text + "' is not a number");
    return XmlRpcValue::Double(v, text);
  }
  if (t.name == "boolean") {
    if (text == "1" || text == "true") return XmlRpcValue::Boolean(true);
    if (text == "0" || text == "false") return XmlRpcValue::Boolean(false);
    return Bad(t, "'" + text + "' is not 0 or 1");
  }
  if (t.name == "string") return XmlRpcValue::String(t.text);
  if (t.name == "dateTime.iso8601") return XmlRpcValue::DateTime(text);
  if (t.name == "base64") {
    auto bytes = Base64Decode(t.text);
    if (!bytes.ok()) return Bad(t, bytes.status().message());
    return XmlRpcValue::Base64(std::move(*bytes));
  }
  if (t.name == "nil" || t.name == "ex:nil") return XmlRpcValue::Nil();
  if (t.name == "array") {
    const XmlElement* data = Child(t, "data");
    if (data == nullptr) return Bad(t, "missing <data>");
    std::vector<XmlRpcValue> items;
    items.reserve(data->children.size());
    for (const XmlElement& item : data->children) {
      DEW_ASSIGN_OR_RETURN(XmlRpcValue v, ReadValue(item));
      items.push_back(std::move(v));
    }
    return XmlRpcValue::Array(std::move(items));
  }
  if (t.name == "struct") {
    std::vector<XmlRpcValue::Member> members;
    members.reserve(t.children.size());
    for (const XmlElement& m : t.children) {
      if (m.name != "member") return Bad(m, "expected <member> inside <struct>");
      const XmlElement* name = Child(m, "name");
      const XmlElement* v = Child(m, "value");
      if (name == nullptr || v == nullptr) return Bad(m, "needs <name> and <value>");
      DEW_ASSIGN_OR_RETURN(XmlRpcValue member, ReadValue(*v));
      members.emplace_back(name->text, std::move(member));
    }
    return XmlRpcValue::Struct(std::move(members));
  }
  return Bad(t, "unknown XML-RPC type");
}

}  // namespace

// --- XmlRpcValue ---------------------------------------------------------------------------

XmlRpcValue XmlRpcValue::Boolean(bool value) {
  XmlRpcValue v;
  v.type_ = Type::kBoolean;
  v.int_ = value ? 1 : 0;
  return v;
}
XmlRpcValue XmlRpcValue::Int(int64_t value) {
  XmlRpcValue v;
  v.type_ = Type::kInt;
  v.int_ = value;
  return v;
}
XmlRpcValue XmlRpcValue::Double(double value) {
  XmlRpcValue v;
  v.type_ = Type::kDouble;
  v.double_ = value;
  v.text_ = DoubleText(value);
  return v;
}
XmlRpcValue XmlRpcValue::Double(double value, std::string wire_text) {
  XmlRpcValue v = Double(value);
  v.text_ = std::move(wire_text);
  return v;
}
XmlRpcValue XmlRpcValue::String(std::string value) {
  XmlRpcValue v;
  v.type_ = Type::kString;
  v.text_ = std::move(value);
  return v;
}
XmlRpcValue XmlRpcValue::DateTime(std::string iso) {
  XmlRpcValue v;
  v.type_ = Type::kDateTime;
  v.text_ = std::move(iso);
  return v;
}
XmlRpcValue XmlRpcValue::Base64(std::string bytes) {
  XmlRpcValue v;
  v.type_ = Type::kBase64;
  v.text_ = std::move(bytes);
  return v;
}
XmlRpcValue XmlRpcValue::Array(std::vector<XmlRpcValue> items) {
  XmlRpcValue v;
  v.type_ = Type::kArray;
  v.items_ = std::move(items);
  return v;
}
XmlRpcValue XmlRpcValue::Struct(std::vector<Member> members) {
  XmlRpcValue v;
  v.type_ = Type::kStruct;
  v.members_ = std::move(members);
  return v;
}

const char* XmlRpcValue::TypeName() const {
  switch (type_) {
    case Type::kNil:
      return "nil";
    case Type::kBoolean:
      return "boolean";
    case Type::kInt:
      return "int";
    case Type::kDouble:
      return "double";
    case Type::kString:
      return "string";
    case Type::kDateTime:
      return "dateTime.iso8601";
    case Type::kBase64:
      return "base64";
    case Type::kArray:
      return "array";
    case Type::kStruct:
      return "struct";
  }
  return "?";
}

double XmlRpcValue::number() const {
  if (type_ == Type::kDouble) return double_;
  if (type_ == Type::kInt) return static_cast<double>(int_);
  return 0;
}

const XmlRpcValue* XmlRpcValue::Find(const std::string& name) const {
  for (const Member& m : members_) {
    if (m.first == name) return &m.second;
  }
  return nullptr;
}

nlohmann::json XmlRpcValue::ToJson() const {
  switch (type_) {
    case Type::kNil:
      return nullptr;
    case Type::kBoolean:
      return int_ != 0;
    case Type::kInt:
      return int_;
    case Type::kDouble:
      return double_;
    case Type::kString:
    case Type::kDateTime:
      return text_;
    case Type::kBase64:
      return Base64Encode(text_);
    case Type::kArray: {
      nlohmann::json out = nlohmann::json::array();
      for (const XmlRpcValue& item : items_) out.push_back(item.ToJson());
      return out;
    }
    case Type::kStruct: {
      nlohmann::json out = nlohmann::json::object();
      for (const Member& m : members_) {
        if (!out.contains(m.first)) out[m.first] = m.second.ToJson();
      }
      return out;
    }
  }
  return nullptr;
}

XmlRpcValue XmlRpcValue::FromJson(const nlohmann::json& json) {
  switch (json.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
    case nlohmann::json::value_t::binary:
      return Nil();
    case nlohmann::json::value_t::boolean:
      return Boolean(json.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Int(json.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return Int(static_cast<int64_t>(json.get<uint64_t>()));
    case nlohmann::json::value_t::number_float:
      return Double(json.get<double>());
    case nlohmann::json::value_t::string:
      return String(json.get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<XmlRpcValue> items;
      for (const auto& item : json) items.push_back(FromJson(item));
      return Array(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      std::vector<Member> members;
      for (auto it = json.begin(); it != json.end(); ++it)
        members.emplace_back(it.key(), FromJson(it.value()));
      return Struct(std::move(members));
    }
  }
  return Nil();
}

// --- Messages ------------------------------------------------------------------------------

std::string EncodeValue(const XmlRpcValue& value) {
  std::string out;
  Write(value, &out);
  return out;
}

std::string EncodeMethodCall(const std::string& method, const std::vector<XmlRpcValue>& params) {
  std::string out = "<?xml version=\"1.0\"?>\n<methodCall><methodName>";
  Escape(method, &out);
  out += "</methodName><params>";
  for (const XmlRpcValue& p : params) {
    out += "<param>";
    Write(p, &out);
    out += "</param>";
  }
  out += "</params></methodCall>\n";
  return out;
}

std::string EncodeMethodResponse(const XmlRpcValue& value) {
  std::string out = "<?xml version=\"1.0\"?>\n<methodResponse><params><param>";
  Write(value, &out);
  out += "</param></params></methodResponse>\n";
  return out;
}

std::string EncodeFault(int64_t code, const std::string& message) {
  std::string out = "<?xml version=\"1.0\"?>\n<methodResponse><fault>";
  Write(XmlRpcValue::Struct(
            {{"faultCode", XmlRpcValue::Int(code)}, {"faultString", XmlRpcValue::String(message)}}),
        &out);
  out += "</fault></methodResponse>\n";
  return out;
}

Result<XmlRpcCall> DecodeMethodCall(const std::string& xml) {
  DEW_ASSIGN_OR_RETURN(XmlElement root, XmlReader(xml).Document());
  if (root.name != "methodCall") return Bad(root, "expected <methodCall>");
  const XmlElement* name = Child(root, "methodName");
  if (name == nullptr) return Bad(root, "missing <methodName>");
  XmlRpcCall call;
  call.method = Trim(name->text);
  if (const XmlElement* params = Child(root, "params")) {
    for (const XmlElement& p : params->children) {
      if (p.name != "param") return Bad(p, "expected <param> inside <params>");
      const XmlElement* v = Child(p, "value");
      if (v == nullptr) return Bad(p, "missing <value>");
      DEW_ASSIGN_OR_RETURN(XmlRpcValue value, ReadValue(*v));
      call.params.push_back(std::move(value));
    }
  }
  return call;
}

Result<XmlRpcResponse> DecodeMethodResponse(const std::string& xml) {
  DEW_ASSIGN_OR_RETURN(XmlElement root, XmlReader(xml).Document());
  if (root.name != "methodResponse") return Bad(root, "expected <methodResponse>");
  XmlRpcResponse response;
  if (const XmlElement* fault = Child(root, "fault")) {
    const XmlElement* v = Child(*fault, "value");
    if (v == nullptr) return Bad(*fault, "missing <value>");
    DEW_ASSIGN_OR_RETURN(XmlRpcValue f, ReadValue(*v));
    const XmlRpcValue* code = f.Find("faultCode");
    const XmlRpcValue* text = f.Find("faultString");
    if (f.type() != XmlRpcValue::Type::kStruct || code == nullptr || text == nullptr)
      return Bad(*fault, "a fault needs a struct with faultCode and faultString");
    response.is_fault = true;
    // Some servers send the code as a string.
    response.fault_code = code->type() == XmlRpcValue::Type::kInt
                              ? code->integer()
                              : std::atoll(code->text().c_str());
    response.fault_string = text->text();
    return response;
  }
  const XmlElement* params = Child(root, "params");
  if (params == nullptr) return Bad(root, "missing <params> or <fault>");
  const XmlElement* param = Child(*params, "param");
  if (param == nullptr) return Bad(*params, "missing <param>");
  const XmlElement* v = Child(*param, "value");
  if (v == nullptr) return Bad(*param, "missing <value>");
  DEW_ASSIGN_OR_RETURN(response.value, ReadValue(*v));
  return response;
}

// --- base64 --------------------------------------------------------------------------------

std::string Base64Encode(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(const std::string& text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      padding = true;
      continue;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    } else {
      return Status::InvalidArgument(std::string("base64: unexpected character '") + c + "'");
    }
    if (padding) return Status::InvalidArgument("base64: data after '=' padding");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace dew::connectors
