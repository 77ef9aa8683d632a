#include "connectors/pgoutput_decoder.h"

#include <gtest/gtest.h>

#include <string>

namespace dew::connectors {
namespace {

// Builds pgoutput messages byte by byte, big-endian, as the manual's message formats say.
class Bytes {
 public:
  explicit Bytes(char tag) { s_ += tag; }
  Bytes& Int(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; i--) s_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  Bytes& Byte(char c) {
    s_ += c;
    return *this;
  }
  Bytes& Str(const std::string& text) {
    s_ += text;
    s_ += '\0';
    return *this;
  }
  Bytes& Text(const std::string& value) {
    Byte('t').Int(value.size(), 4);
    s_ += value;
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

// Relation 16384 public.orders with key columns (a, b), as a publication with a column list
// of the key describes it.
std::string OrdersRelation() {
  return Bytes('R')
      .Int(16384, 4)
      .Str("public")
      .Str("orders")
      .Byte('d')
      .Int(2, 2)
      .Int(1, 1)
      .Str("a")
      .Int(23, 4)
      .Int(0xffffffff, 4)
      .Int(1, 1)
      .Str("b")
      .Int(25, 4)
      .Int(0xffffffff, 4)
      .str();
}

TEST(PgOutputDecoderTest, DecodesRowChangesOfADescribedRelation) {
  PgOutputDecoder decoder;
  auto begin = decoder.Decode(Bytes('B').Int(0x1600000abcULL, 8).Int(7, 8).Int(42, 4).str());
  ASSERT_TRUE(begin.ok()) << begin.status().ToString();
  EXPECT_EQ(begin->kind, PgOutputMessage::Kind::kBegin);
  EXPECT_EQ(begin->lsn, 0x1600000abcULL);

  auto relation = decoder.Decode(OrdersRelation());
  ASSERT_TRUE(relation.ok()) << relation.status().ToString();
  EXPECT_EQ(relation->kind, PgOutputMessage::Kind::kRelation);
  const PgOutputRelation* r = decoder.FindRelation(16384);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->schema + "." + r->name, "public.orders");
  EXPECT_EQ(r->columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->key_columns, (std::vector<bool>{true, true}));
  EXPECT_EQ(decoder.FindRelation(1), nullptr);

  auto insert =
      decoder.Decode(Bytes('I').Int(16384, 4).Byte('N').Int(2, 2).Text("1").Text("x,\"y\"").str());
  ASSERT_TRUE(insert.ok()) << insert.status().ToString();
  EXPECT_EQ(insert->kind, PgOutputMessage::Kind::kInsert);
  EXPECT_EQ(insert->relation, 16384u);
  ASSERT_EQ(insert->values.size(), 2u);
  EXPECT_EQ(insert->values[0].value_or("?"), "1");
  EXPECT_EQ(insert->values[1].value_or("?"), "x,\"y\"");

  // An update of other columns sends the new key only; one that changed the key sends the old.
  auto update =
      decoder.Decode(Bytes('U').Int(16384, 4).Byte('N').Int(2, 2).Text("1").Byte('n').str());
  ASSERT_TRUE(update.ok()) << update.status().ToString();
  EXPECT_FALSE(update->old_values.has_value());
  EXPECT_FALSE(update->values[1].has_value());
  auto rekey = decoder.Decode(Bytes('U')
                                  .Int(16384, 4)
                                  .Byte('K')
                                  .Int(2, 2)
                                  .Text("1")
                                  .Text("x")
                                  .Byte('N')
                                  .Int(2, 2)
                                  .Text("2")
                                  .Byte('u')
                                  .str());
  ASSERT_TRUE(rekey.ok()) << rekey.status().ToString();
  ASSERT_TRUE(rekey->old_values.has_value());
  EXPECT_EQ((*rekey->old_values)[1].value_or("?"), "x");
  EXPECT_EQ(rekey->values[0].value_or("?"), "2");

  auto del = decoder.Decode(Bytes('D').Int(16384, 4).Byte('K').Int(2, 2).Text("9").Text("").str());
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_EQ(del->kind, PgOutputMessage::Kind::kDelete);
  EXPECT_EQ(del->values[0].value_or("?"), "9");
  EXPECT_EQ(del->values[1].value_or("?"), "");  // an empty text key, not NULL

  auto truncate = decoder.Decode(Bytes('T').Int(2, 4).Int(0, 1).Int(16384, 4).Int(99, 4).str());
  ASSERT_TRUE(truncate.ok()) << truncate.status().ToString();
  EXPECT_EQ(truncate->kind, PgOutputMessage::Kind::kTruncate);
  EXPECT_EQ(truncate->truncated, (std::vector<uint32_t>{16384, 99}));

  auto commit =
      decoder.Decode(Bytes('C').Int(0, 1).Int(5, 8).Int(0x1600000b00ULL, 8).Int(7, 8).str());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(commit->kind, PgOutputMessage::Kind::kCommit);
  EXPECT_EQ(commit->lsn, 0x1600000b00ULL);

  // Messages the deletions do not need (Origin, Type, logical Message) decode as kOther.
  auto origin = decoder.Decode(Bytes('O').Int(1, 8).Str("node").str());
  ASSERT_TRUE(origin.ok());
  EXPECT_EQ(origin->kind, PgOutputMessage::Kind::kOther);
}

TEST(PgOutputDecoderTest, RejectsTruncatedAndUnknownInput) {
  PgOutputDecoder decoder;
  EXPECT_FALSE(decoder.Decode("").ok());
  // A row of a relation no Relation message described.
  auto orphan = decoder.Decode(Bytes('I').Int(5, 4).Byte('N').Int(1, 2).Text("1").str());
  ASSERT_FALSE(orphan.ok());
  EXPECT_NE(orphan.status().message().find("relation 5 was not described"), std::string::npos)
      << orphan.status().ToString();
  ASSERT_TRUE(decoder.Decode(OrdersRelation()).ok());
  // Cut inside a value's length, inside a value, inside a string; a bad column kind.
  const std::string whole =
      Bytes('D').Int(16384, 4).Byte('K').Int(2, 2).Text("123").Text("abc").str();
  for (size_t cut : {size_t{9}, size_t{14}, whole.size() - 1}) {
    auto cut_short = decoder.Decode(whole.substr(0, cut));
    ASSERT_FALSE(cut_short.ok()) << cut;
    EXPECT_NE(cut_short.status().message().find("pgoutput message 'D' at byte"), std::string::npos)
        << cut_short.status().ToString();
  }
  EXPECT_FALSE(decoder.Decode(OrdersRelation().substr(0, 12)).ok());
  auto kind = decoder.Decode(Bytes('I').Int(16384, 4).Byte('N').Int(1, 2).Byte('x').str());
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.status().message().find("unknown column kind 'x'"), std::string::npos);
  EXPECT_FALSE(decoder.Decode(Bytes('D').Int(16384, 4).Byte('N').Int(0, 2).str()).ok());
}

TEST(PgOutputDecoderTest, FormatsAndParsesLsns) {
  EXPECT_EQ(FormatLsn(0x16B3748ULL), "0/16B3748");
  EXPECT_EQ(FormatLsn((0x1AULL << 32) | 0xFFULL), "1A/FF");
  EXPECT_EQ(ParseLsn("0/16B3748").value_or(0), 0x16B3748ULL);
  EXPECT_EQ(ParseLsn("1a/ff").value_or(0), (0x1AULL << 32) | 0xFFULL);
  for (const char* bad : {"", "/1", "1/", "12", "0/xyz", "123456789/0"}) {
    EXPECT_FALSE(ParseLsn(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace dew::connectors
