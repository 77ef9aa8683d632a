// PgOutputDecoder: reads the messages of PostgreSQL's built-in logical decoding plugin
// `pgoutput`, protocol version 1 (the "Logical Replication Message Formats" chapter of the
// PostgreSQL manual), as pg_logical_slot_peek_binary_changes returns them, one message per row.
// The deletes-through-replication check (PostgresReplicationSlot) only needs to know which keys
// were inserted, updated or deleted, and whether a table was truncated; the decoder keeps the
// Relation messages so a row's values can be matched to its columns.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dew::connectors {

//! A relation as a Relation message describes it: the columns the publication sends (with a
//! column list, only those), in the order tuples carry them.
struct PgOutputRelation {
  uint32_t oid = 0;
  std::string schema;
  std::string name;
  char replica_identity = 'd';  //!< 'd' default (primary key), 'n' nothing, 'f' full, 'i' index
  std::vector<std::string> columns;
  std::vector<bool> key_columns;  //!< per column: part of the replica identity
};

//! One decoded message.
struct PgOutputMessage {
  enum class Kind { kBegin, kCommit, kRelation, kInsert, kUpdate, kDelete, kTruncate, kOther };
  Kind kind = Kind::kOther;
  char tag = 0;           //!< the message's first byte ('B', 'C', 'R', 'I', 'U', 'D', 'T', ...)
  uint32_t relation = 0;  //!< Insert, Update, Delete, Relation: the relation's oid
  //! Insert, Update: the new row's values; Delete: the old key's values (text; nullopt for
  //! NULL and for an unchanged TOAST value), in the relation's column order.
  std::vector<std::optional<std::string>> values;
  //! Update that changed the key (or with REPLICA IDENTITY FULL): the old key's values.
  std::optional<std::vector<std::optional<std::string>>> old_values;
  std::vector<uint32_t> truncated;  //!< Truncate: the relations' oids
  uint64_t lsn = 0;                 //!< Begin: the transaction's final LSN; Commit: its end LSN
};

//! Not thread-safe; one decoder per stream of messages (it remembers their Relation messages).
class PgOutputDecoder {
 public:
  //! Decodes one message. InvalidArgument naming the message type and byte offset when the
  //! bytes are truncated or malformed, or when a row refers to a relation no Relation message
  //! described. A message type this decoder does not interpret (Origin, Type, Message, the
  //! streaming messages of protocol 2) decodes as kOther.
  Result<PgOutputMessage> Decode(std::string_view bytes);

  //! The relation a Relation message described, or null.
  const PgOutputRelation* FindRelation(uint32_t oid) const;

 private:
  std::map<uint32_t, PgOutputRelation> relations_;
};

//! "0/16B3748", as PostgreSQL prints a pg_lsn.
std::string FormatLsn(uint64_t lsn);
//! Inverse of FormatLsn; nullopt when `text` is not one.
std::optional<uint64_t> ParseLsn(std::string_view text);

}  // namespace dew::connectors
