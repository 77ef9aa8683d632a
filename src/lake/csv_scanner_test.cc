#include "lake/csv_scanner.h"

#include <gtest/gtest.h>

namespace dew::lake {
namespace {

std::optional<CsvProblem> Scan(const std::string& text, size_t piece = 3) {
  CsvScanner s(',', '"');
  for (size_t i = 0; i < text.size(); i += piece) {
    if (!s.Feed(std::string_view(text).substr(i, piece))) break;
  }
  s.Finish();
  return s.problem();
}

TEST(CsvScannerTest, AcceptsWellFormedFilesWithQuotesAndBlankLines) {
  EXPECT_FALSE(Scan("a,b\n1,\"x,\"\"y\"\"\nz\"\n\n2,3\r\n3,4").has_value());
  CsvScanner s(',', '"');
  ASSERT_TRUE(s.Feed("id,\"na,me\"\n1,2\n"));
  s.Finish();
  EXPECT_EQ(s.header(), (std::vector<std::string>{"id", "na,me"}));
}

TEST(CsvScannerTest, TooManyFieldsPointsAtTheExtraField) {
  auto p = Scan("id,name,amount\n1,a,2\n3,c,4,extra\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->line, 3);
  EXPECT_EQ(p->column, 7);
  EXPECT_NE(p->message.find("expected 3 fields (id, name, amount)"), std::string::npos);
  EXPECT_NE(p->message.find("found 4"), std::string::npos);
}

TEST(CsvScannerTest, TooFewFieldsPointsAtTheRecordEnd) {
  auto p = Scan("id,name\n1,a\n2\n3,c\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->line, 3);
  EXPECT_EQ(p->column, 2);
  EXPECT_NE(p->message.find("found 1"), std::string::npos);
  auto last = Scan("id,name\n1,a\n2");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->line, 3);
}

TEST(CsvScannerTest, UnterminatedQuotePointsAtTheOpeningQuote) {
  auto p = Scan("id,name,amount\n1,a,2.5\n2,\"b,3.5\n3,c,4\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->line, 3);
  EXPECT_EQ(p->column, 3);
  EXPECT_NE(p->message.find("unterminated"), std::string::npos);
}

TEST(CsvScannerTest, FieldColumnsAndDelimiterGuess) {
  EXPECT_EQ(CsvFieldColumn("x99,\"a,b\",1.0", 2, ',', '"'), 11);
  EXPECT_EQ(CsvFieldColumn("x99,bad", 0, ',', '"'), 1);
  EXPECT_EQ(GuessCsvDelimiter("a;b;\"c,d\"", '"'), ';');
  EXPECT_EQ(GuessCsvDelimiter("a\tb", '"'), '\t');
  EXPECT_EQ(GuessCsvDelimiter("single", '"'), ',');
}

}  // namespace
}  // namespace dew::lake
