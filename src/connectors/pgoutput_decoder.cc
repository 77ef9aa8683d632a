#include "connectors/pgoutput_decoder.h"

#include <cinttypes>
#include <cstdio>

namespace dew::connectors {
namespace {

// Big-endian fields of one message, each read checked against its end.
class Reader {
 public:
  Reader(std::string_view bytes, char tag) : bytes_(bytes), tag_(tag) {}

  Status Fail(const std::string& what) const {
    return Status::InvalidArgument("pgoutput message '" + std::string(1, tag_) + "' at byte " +
                                   std::to_string(pos_) + " of " + std::to_string(bytes_.size()) +
                                   ": " + what);
  }
  Result<uint64_t> Int(int width) {
    if (bytes_.size() - pos_ < static_cast<size_t>(width)) {
      return Fail("ends inside a " + std::to_string(width * 8) + "-bit field");
    }
    uint64_t v = 0;
    for (int i = 0; i < width; i++) v = (v << 8) | static_cast<unsigned char>(bytes_[pos_++]);
    return v;
  }
  Result<char> Byte() {
    DEW_ASSIGN_OR_RETURN(uint64_t v, Int(1));
    return static_cast<char>(v);
  }
  // A NUL-terminated string.
  Result<std::string> String() {
    const size_t end = bytes_.find('\0', pos_);
    if (end == std::string_view::npos) return Fail("ends inside a string");
    std::string s(bytes_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  Result<std::string> Bytes(uint64_t n) {
    if (bytes_.size() - pos_ < n) return Fail("ends inside a " + std::to_string(n) + "-byte value");
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // TupleData: Int16 columns, then per column 'n' (NULL), 'u' (unchanged TOAST), or 't'/'b'
  // with an Int32 length and the value.
  Result<std::vector<std::optional<std::string>>> Tuple() {
    DEW_ASSIGN_OR_RETURN(uint64_t n, Int(2));
    std::vector<std::optional<std::string>> values;
    values.reserve(n);
    for (uint64_t i = 0; i < n; i++) {
      DEW_ASSIGN_OR_RETURN(char kind, Byte());
      if (kind == 'n' || kind == 'u') {
        values.emplace_back(std::nullopt);
      } else if (kind == 't' || kind == 'b') {
        DEW_ASSIGN_OR_RETURN(uint64_t len, Int(4));
        DEW_ASSIGN_OR_RETURN(std::string v, Bytes(len));
        values.emplace_back(std::move(v));
      } else {
        pos_--;
        return Fail("unknown column kind '" + std::string(1, kind) + "'");
      }
    }
    return values;
  }

 private:
  std::string_view bytes_;
  char tag_;
  size_t pos_ = 1;  // after the tag
};

}  // namespace

Result<PgOutputMessage> PgOutputDecoder::Decode(std::string_view bytes) {
  if (bytes.empty()) return Status::InvalidArgument("pgoutput message is empty");
  PgOutputMessage m;
  m.tag = bytes[0];
  Reader in(bytes, m.tag);
  auto known_relation = [&](uint32_t oid) -> Status {
    if (relations_.count(oid)) return Status::OK();
    return in.Fail("relation " + std::to_string(oid) + " was not described by a Relation message");
  };
  switch (m.tag) {
    case 'B': {
      m.kind = PgOutputMessage::Kind::kBegin;
      DEW_ASSIGN_OR_RETURN(m.lsn, in.Int(8));
      DEW_RETURN_IF_ERROR(in.Int(8).status());  // commit timestamp
      DEW_RETURN_IF_ERROR(in.Int(4).status());  // xid
      break;
    }
    case 'C': {
      m.kind = PgOutputMessage::Kind::kCommit;
      DEW_RETURN_IF_ERROR(in.Int(1).status());  // flags
      DEW_RETURN_IF_ERROR(in.Int(8).status());  // the commit's LSN
      DEW_ASSIGN_OR_RETURN(m.lsn, in.Int(8));   // the transaction's end LSN
      DEW_RETURN_IF_ERROR(in.Int(8).status());  // commit timestamp
      break;
    }
    case 'R': {
      m.kind = PgOutputMessage::Kind::kRelation;
      PgOutputRelation r;
      DEW_ASSIGN_OR_RETURN(uint64_t oid, in.Int(4));
      r.oid = static_cast<uint32_t>(oid);
      DEW_ASSIGN_OR_RETURN(r.schema, in.String());
      DEW_ASSIGN_OR_RETURN(r.name, in.String());
      DEW_ASSIGN_OR_RETURN(r.replica_identity, in.Byte());
      DEW_ASSIGN_OR_RETURN(uint64_t n, in.Int(2));
      for (uint64_t i = 0; i < n; i++) {
        DEW_ASSIGN_OR_RETURN(uint64_t flags, in.Int(1));
        DEW_ASSIGN_OR_RETURN(std::string name, in.String());
        DEW_RETURN_IF_ERROR(in.Int(4).status());  // type oid
        DEW_RETURN_IF_ERROR(in.Int(4).status());  // type modifier
        r.columns.push_back(std::move(name));
        r.key_columns.push_back((flags & 1) != 0);
      }
      m.relation = r.oid;
      relations_[r.oid] = std::move(r);
      break;
    }
    case 'I': {
      m.kind = PgOutputMessage::Kind::kInsert;
      DEW_ASSIGN_OR_RETURN(uint64_t oid, in.Int(4));
      m.relation = static_cast<uint32_t>(oid);
      DEW_RETURN_IF_ERROR(known_relation(m.relation));
      DEW_ASSIGN_OR_RETURN(char n, in.Byte());
      if (n != 'N') return in.Fail("expected 'N' before the new row");
      DEW_ASSIGN_OR_RETURN(m.values, in.Tuple());
      break;
    }
    case 'U': {
      m.kind = PgOutputMessage::Kind::kUpdate;
      DEW_ASSIGN_OR_RETURN(uint64_t oid, in.Int(4));
      m.relation = static_cast<uint32_t>(oid);
      DEW_RETURN_IF_ERROR(known_relation(m.relation));
      DEW_ASSIGN_OR_RETURN(char next, in.Byte());
      if (next == 'K' || next == 'O') {
        DEW_ASSIGN_OR_RETURN(auto old_values, in.Tuple());
        m.old_values = std::move(old_values);
        DEW_ASSIGN_OR_RETURN(next, in.Byte());
      }
      if (next != 'N') return in.Fail("expected 'N' before the new row");
      DEW_ASSIGN_OR_RETURN(m.values, in.Tuple());
      break;
    }
    case 'D': {
      m.kind = PgOutputMessage::Kind::kDelete;
      DEW_ASSIGN_OR_RETURN(uint64_t oid, in.Int(4));
      m.relation = static_cast<uint32_t>(oid);
      DEW_RETURN_IF_ERROR(known_relation(m.relation));
      DEW_ASSIGN_OR_RETURN(char old, in.Byte());
      if (old != 'K' && old != 'O') return in.Fail("expected 'K' or 'O' before the old key");
      DEW_ASSIGN_OR_RETURN(m.values, in.Tuple());
      break;
    }
    case 'T': {
      m.kind = PgOutputMessage::Kind::kTruncate;
      DEW_ASSIGN_OR_RETURN(uint64_t n, in.Int(4));
      DEW_RETURN_IF_ERROR(in.Int(1).status());  // options (CASCADE, RESTART IDENTITY)
      for (uint64_t i = 0; i < n; i++) {
        DEW_ASSIGN_OR_RETURN(uint64_t oid, in.Int(4));
        m.truncated.push_back(static_cast<uint32_t>(oid));
      }
      break;
    }
    default:
      break;  // Origin, Type, Message, ...: nothing the deletes need
  }
  return m;
}

const PgOutputRelation* PgOutputDecoder::FindRelation(uint32_t oid) const {
  auto it = relations_.find(oid);
  return it == relations_.end() ? nullptr : &it->second;
}

std::string FormatLsn(uint64_t lsn) {
  char text[32];
  std::snprintf(text, sizeof(text), "%" PRIX64 "/%" PRIX64, lsn >> 32, lsn & 0xffffffffu);
  return text;
}

std::optional<uint64_t> ParseLsn(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size() || slash > 8 ||
      text.size() - slash - 1 > 8) {
    return std::nullopt;
  }
  uint64_t hi = 0, lo = 0;
  auto hex = [](std::string_view part, uint64_t* out) {
    for (char c : part) {
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                     : -1;
      if (d < 0) return false;
      *out = (*out << 4) | static_cast<uint64_t>(d);
    }
    return true;
  };
  if (!hex(text.substr(0, slash), &hi) || !hex(text.substr(slash + 1), &lo)) return std::nullopt;
  return (hi << 32) | lo;
}

}  // namespace dew::connectors
