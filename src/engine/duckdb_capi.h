// The subset of DuckDB's stable C API that dew uses, declared here rather than taken from
// duckdb.h, so the contract with the library is explicit and reviewed (DESIGN decision 1).
// Layouts and enum values follow DuckDB's duckdb.h for the pinned release (1.5.x). Only files
// under src/engine/ include this header.
#pragma once

#include <stdbool.h>
#include <stdint.h>

extern "C" {

typedef uint64_t idx_t;

typedef enum DUCKDB_TYPE {
  DUCKDB_TYPE_INVALID = 0,
  DUCKDB_TYPE_BOOLEAN = 1,
  DUCKDB_TYPE_TINYINT = 2,
  DUCKDB_TYPE_SMALLINT = 3,
  DUCKDB_TYPE_INTEGER = 4,
  DUCKDB_TYPE_BIGINT = 5,
  DUCKDB_TYPE_UTINYINT = 6,
  DUCKDB_TYPE_USMALLINT = 7,
  DUCKDB_TYPE_UINTEGER = 8,
  DUCKDB_TYPE_UBIGINT = 9,
  DUCKDB_TYPE_FLOAT = 10,
  DUCKDB_TYPE_DOUBLE = 11,
  DUCKDB_TYPE_TIMESTAMP = 12,
  DUCKDB_TYPE_DATE = 13,
  DUCKDB_TYPE_TIME = 14,
  DUCKDB_TYPE_INTERVAL = 15,
  DUCKDB_TYPE_HUGEINT = 16,
  DUCKDB_TYPE_VARCHAR = 17,
  DUCKDB_TYPE_BLOB = 18,
  DUCKDB_TYPE_DECIMAL = 19,
  DUCKDB_TYPE_TIMESTAMP_S = 20,
  DUCKDB_TYPE_TIMESTAMP_MS = 21,
  DUCKDB_TYPE_TIMESTAMP_NS = 22,
  DUCKDB_TYPE_ENUM = 23,
  DUCKDB_TYPE_LIST = 24,
  DUCKDB_TYPE_STRUCT = 25,
  DUCKDB_TYPE_MAP = 26,
  DUCKDB_TYPE_UUID = 27,
  DUCKDB_TYPE_UNION = 28,
  DUCKDB_TYPE_BIT = 29,
  DUCKDB_TYPE_TIME_TZ = 30,
  DUCKDB_TYPE_TIMESTAMP_TZ = 31,
  DUCKDB_TYPE_UHUGEINT = 32,
  DUCKDB_TYPE_ARRAY = 33,
  DUCKDB_TYPE_ANY = 34,
  DUCKDB_TYPE_BIGNUM = 35,
  DUCKDB_TYPE_SQLNULL = 36,
} duckdb_type;

typedef enum duckdb_state { DuckDBSuccess = 0, DuckDBError = 1 } duckdb_state;

typedef enum duckdb_pending_state {
  DUCKDB_PENDING_RESULT_READY = 0,
  DUCKDB_PENDING_RESULT_NOT_READY = 1,
  DUCKDB_PENDING_ERROR = 2,
  DUCKDB_PENDING_NO_TASKS_AVAILABLE = 3,
} duckdb_pending_state;

typedef struct {
  int32_t days;
} duckdb_date;
typedef struct {
  int64_t micros;
} duckdb_time;
typedef struct {
  int64_t micros;
} duckdb_timestamp;
typedef struct {
  int32_t months;
  int32_t days;
  int64_t micros;
} duckdb_interval;
typedef struct {
  uint64_t lower;
  int64_t upper;
} duckdb_hugeint;
typedef struct {
  uint64_t lower;
  uint64_t upper;
} duckdb_uhugeint;
typedef struct {
  uint64_t offset;
  uint64_t length;
} duckdb_list_entry;

typedef struct {
  union {
    struct {
      uint32_t length;
      char prefix[4];
      char* ptr;
    } pointer;
    struct {
      uint32_t length;
      char inlined[12];
    } inlined;
  } value;
} duckdb_string_t;

typedef struct {
  double percentage;
  uint64_t rows_processed;
  uint64_t total_rows_to_process;
} duckdb_query_progress_type;

// The result struct is owned by the caller and filled by duckdb_query; its fields are internal.
typedef struct {
  idx_t deprecated_column_count;
  idx_t deprecated_row_count;
  idx_t deprecated_rows_changed;
  void* deprecated_columns;
  char* deprecated_error_message;
  void* internal_data;
} duckdb_result;

typedef struct _duckdb_database {
  void* internal_ptr;
}* duckdb_database;
typedef struct _duckdb_connection {
  void* internal_ptr;
}* duckdb_connection;
typedef struct _duckdb_config {
  void* internal_ptr;
}* duckdb_config;
typedef struct _duckdb_prepared_statement {
  void* internal_ptr;
}* duckdb_prepared_statement;
typedef struct _duckdb_pending_result {
  void* internal_ptr;
}* duckdb_pending_result;
typedef struct _duckdb_appender {
  void* internal_ptr;
}* duckdb_appender;
typedef struct _duckdb_data_chunk {
  void* internal_ptr;
}* duckdb_data_chunk;
typedef struct _duckdb_vector {
  void* internal_ptr;
}* duckdb_vector;
typedef struct _duckdb_logical_type {
  void* internal_ptr;
}* duckdb_logical_type;
typedef struct _duckdb_extracted_statements {
  void* internal_ptr;
}* duckdb_extracted_statements;

// Database and connection.
const char* duckdb_library_version();
duckdb_state duckdb_create_config(duckdb_config* out_config);
duckdb_state duckdb_set_config(duckdb_config config, const char* name, const char* option);
void duckdb_destroy_config(duckdb_config* config);
duckdb_state duckdb_open_ext(const char* path, duckdb_database* out_database, duckdb_config config,
                             char** out_error);
void duckdb_close(duckdb_database* database);
duckdb_state duckdb_connect(duckdb_database database, duckdb_connection* out_connection);
void duckdb_interrupt(duckdb_connection connection);
duckdb_query_progress_type duckdb_query_progress(duckdb_connection connection);
void duckdb_disconnect(duckdb_connection* connection);
void duckdb_free(void* ptr);

// Queries and results.
duckdb_state duckdb_query(duckdb_connection connection, const char* query,
                          duckdb_result* out_result);
void duckdb_destroy_result(duckdb_result* result);
const char* duckdb_result_error(duckdb_result* result);
idx_t duckdb_column_count(duckdb_result* result);
const char* duckdb_column_name(duckdb_result* result, idx_t col);
duckdb_logical_type duckdb_column_logical_type(duckdb_result* result, idx_t col);
idx_t duckdb_rows_changed(duckdb_result* result);
duckdb_data_chunk duckdb_fetch_chunk(duckdb_result result);

// Statements.
idx_t duckdb_extract_statements(duckdb_connection connection, const char* query,
                                duckdb_extracted_statements* out_extracted_statements);
duckdb_state duckdb_prepare_extracted_statement(duckdb_connection connection,
                                                duckdb_extracted_statements extracted_statements,
                                                idx_t index,
                                                duckdb_prepared_statement* out_prepared_statement);
const char* duckdb_extract_statements_error(duckdb_extracted_statements extracted_statements);
void duckdb_destroy_extracted(duckdb_extracted_statements* extracted_statements);
duckdb_state duckdb_prepare(duckdb_connection connection, const char* query,
                            duckdb_prepared_statement* out_prepared_statement);
void duckdb_destroy_prepare(duckdb_prepared_statement* prepared_statement);
const char* duckdb_prepare_error(duckdb_prepared_statement prepared_statement);
idx_t duckdb_nparams(duckdb_prepared_statement prepared_statement);
duckdb_state duckdb_clear_bindings(duckdb_prepared_statement prepared_statement);
duckdb_state duckdb_bind_boolean(duckdb_prepared_statement prepared_statement, idx_t param_idx,
                                 bool val);
duckdb_state duckdb_bind_int64(duckdb_prepared_statement prepared_statement, idx_t param_idx,
                               int64_t val);
duckdb_state duckdb_bind_double(duckdb_prepared_statement prepared_statement, idx_t param_idx,
                                double val);
duckdb_state duckdb_bind_varchar_length(duckdb_prepared_statement prepared_statement,
                                        idx_t param_idx, const char* val, idx_t length);
duckdb_state duckdb_bind_blob(duckdb_prepared_statement prepared_statement, idx_t param_idx,
                              const void* data, idx_t length);
duckdb_state duckdb_bind_timestamp(duckdb_prepared_statement prepared_statement, idx_t param_idx,
                                   duckdb_timestamp val);
duckdb_state duckdb_bind_date(duckdb_prepared_statement prepared_statement, idx_t param_idx,
                              duckdb_date val);
duckdb_state duckdb_bind_null(duckdb_prepared_statement prepared_statement, idx_t param_idx);
duckdb_state duckdb_pending_prepared_streaming(duckdb_prepared_statement prepared_statement,
                                               duckdb_pending_result* out_result);
duckdb_state duckdb_pending_prepared(duckdb_prepared_statement prepared_statement,
                                     duckdb_pending_result* out_result);
void duckdb_destroy_pending(duckdb_pending_result* pending_result);
const char* duckdb_pending_error(duckdb_pending_result pending_result);
duckdb_pending_state duckdb_pending_execute_task(duckdb_pending_result pending_result);
duckdb_state duckdb_execute_pending(duckdb_pending_result pending_result,
                                    duckdb_result* out_result);

// Chunks and vectors.
void duckdb_destroy_data_chunk(duckdb_data_chunk* chunk);
idx_t duckdb_data_chunk_get_column_count(duckdb_data_chunk chunk);
idx_t duckdb_data_chunk_get_size(duckdb_data_chunk chunk);
duckdb_vector duckdb_data_chunk_get_vector(duckdb_data_chunk chunk, idx_t col_idx);
void* duckdb_vector_get_data(duckdb_vector vector);
uint64_t* duckdb_vector_get_validity(duckdb_vector vector);
duckdb_vector duckdb_list_vector_get_child(duckdb_vector vector);
duckdb_vector duckdb_struct_vector_get_child(duckdb_vector vector, idx_t index);
duckdb_vector duckdb_array_vector_get_child(duckdb_vector vector);
bool duckdb_validity_row_is_valid(uint64_t* validity, idx_t row);
idx_t duckdb_vector_size(void);
duckdb_data_chunk duckdb_create_data_chunk(duckdb_logical_type* types, idx_t column_count);
void duckdb_data_chunk_reset(duckdb_data_chunk chunk);
void duckdb_data_chunk_set_size(duckdb_data_chunk chunk, idx_t size);
void duckdb_vector_ensure_validity_writable(duckdb_vector vector);
void duckdb_validity_set_row_invalid(uint64_t* validity, idx_t row);
void duckdb_vector_assign_string_element_len(duckdb_vector vector, idx_t index, const char* str,
                                             idx_t str_len);

// Logical types.
duckdb_logical_type duckdb_create_logical_type(duckdb_type type);
duckdb_type duckdb_get_type_id(duckdb_logical_type type);
void duckdb_destroy_logical_type(duckdb_logical_type* type);
uint8_t duckdb_decimal_width(duckdb_logical_type type);
uint8_t duckdb_decimal_scale(duckdb_logical_type type);
duckdb_type duckdb_decimal_internal_type(duckdb_logical_type type);
duckdb_type duckdb_enum_internal_type(duckdb_logical_type type);
uint32_t duckdb_enum_dictionary_size(duckdb_logical_type type);
char* duckdb_enum_dictionary_value(duckdb_logical_type type, idx_t index);
duckdb_logical_type duckdb_list_type_child_type(duckdb_logical_type type);
duckdb_logical_type duckdb_array_type_child_type(duckdb_logical_type type);
idx_t duckdb_array_type_array_size(duckdb_logical_type type);
duckdb_logical_type duckdb_map_type_key_type(duckdb_logical_type type);
duckdb_logical_type duckdb_map_type_value_type(duckdb_logical_type type);
idx_t duckdb_struct_type_child_count(duckdb_logical_type type);
char* duckdb_struct_type_child_name(duckdb_logical_type type, idx_t index);
duckdb_logical_type duckdb_struct_type_child_type(duckdb_logical_type type, idx_t index);
char* duckdb_logical_type_get_alias(duckdb_logical_type type);

// Table description (the catalog's columns of a table, without a query).
typedef struct _duckdb_table_description {
  void* internal_ptr;
}* duckdb_table_description;
duckdb_state duckdb_table_description_create_ext(duckdb_connection connection, const char* catalog,
                                                 const char* schema, const char* table,
                                                 duckdb_table_description* out);
void duckdb_table_description_destroy(duckdb_table_description* table_description);
const char* duckdb_table_description_error(duckdb_table_description table_description);
idx_t duckdb_table_description_get_column_count(duckdb_table_description table_description);
char* duckdb_table_description_get_column_name(duckdb_table_description table_description,
                                               idx_t index);
duckdb_logical_type duckdb_table_description_get_column_type(
    duckdb_table_description table_description, idx_t index);

// Appender.
duckdb_state duckdb_appender_create_ext(duckdb_connection connection, const char* catalog,
                                        const char* schema, const char* table,
                                        duckdb_appender* out_appender);
const char* duckdb_appender_error(duckdb_appender appender);
duckdb_state duckdb_appender_flush(duckdb_appender appender);
duckdb_state duckdb_appender_close(duckdb_appender appender);
duckdb_state duckdb_appender_destroy(duckdb_appender* appender);
duckdb_state duckdb_appender_end_row(duckdb_appender appender);
duckdb_state duckdb_append_bool(duckdb_appender appender, bool value);
duckdb_state duckdb_append_int64(duckdb_appender appender, int64_t value);
duckdb_state duckdb_append_double(duckdb_appender appender, double value);
duckdb_state duckdb_append_varchar_length(duckdb_appender appender, const char* val,
                                          idx_t length);
duckdb_state duckdb_append_null(duckdb_appender appender);
duckdb_state duckdb_append_data_chunk(duckdb_appender appender, duckdb_data_chunk chunk);

}  // extern "C"
