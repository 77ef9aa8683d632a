// OdooRpcServer: a STAND-IN for an Odoo server, which cannot run here (no Odoo install, no
// network). It speaks the documented external XML-RPC API on 127.0.0.1 with cpp-httplib:
// /xmlrpc/2/common (version, authenticate) and /xmlrpc/2/object (execute_kw with
// search_read, search_count, search), backed by in-memory records of the models a test adds,
// plus the ir.model and ir.model.fields metadata models derived from them. It applies domains
// (=, !=, >, >=, <, <=, in, not in, like, ilike, not like, not ilike, =like, =ilike, with the
// '&', '|', '!' prefix operators and the implicit '&'), fields, limit, offset and order, leaves
// archived records (active = False) out unless the context says active_test: False, and
// replies with XML-RPC faults shaped like Odoo's (code 1 with a traceback for errors, 2 for
// UserError such as an unknown model, 3 Access Denied, 4 AccessError). Records hold values the
// way Odoo's search_read returns them: False for empty, [id, "name"] for many2one, lists of
// ids for one2many/many2many, "YYYY-MM-DD HH:MM:SS" text for datetimes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace httplib {
class Server;
}

namespace dew::testing {

struct OdooField {
  OdooField(std::string name_, std::string type_, std::string relation_ = "", bool store_ = true,
            bool required_ = false)
      : name(std::move(name_)),
        type(std::move(type_)),
        relation(std::move(relation_)),
        store(store_),
        required(required_) {}
  std::string name;
  std::string type;      //!< Odoo ttype: char, integer, float, monetary, many2one, …
  std::string relation;  //!< the related model of relational fields
  bool store = true;
  bool required = false;
};

//! Thread-safe: the server's threads and the test's thread share it under one mutex.
class OdooRpcServer {
 public:
  explicit OdooRpcServer(std::string database = "odoo");
  //! Stops the server.
  ~OdooRpcServer();
  OdooRpcServer(const OdooRpcServer&) = delete;
  OdooRpcServer& operator=(const OdooRpcServer&) = delete;

  //! Binds 127.0.0.1 on a free port and serves in a thread. IOError when binding fails.
  Status Start();
  void Stop();
  //! "http://127.0.0.1:<port>".
  std::string url() const;

  //! A login that authenticates with `password`; returns its uid.
  int64_t AddUser(const std::string& login, const std::string& password);
  //! Makes `model` unreadable for `login` (AccessError, fault 4).
  void Forbid(const std::string& login, const std::string& model);
  //! Declares a model; "id" (integer) is added when missing.
  void AddModel(const std::string& model, std::vector<OdooField> fields);
  //! Inserts or replaces (by "id") one record of `model`.
  void Put(const std::string& model, const nlohmann::json& record);
  //! Removes the record with `id`.
  void Remove(const std::string& model, int64_t id);

  //! After `successful` more search_read calls, every later one gets HTTP `status` until
  //! ClearFailure(); simulates a server or network dying in the middle of a sync.
  void FailSearchReadAfter(int successful, int status);
  void ClearFailure();
  //! Every object call waits `ms` before it is answered (a slow server, so a test can kill a
  //! sync in the middle).
  void SetDelayMs(int ms);
  //! search_read calls received so far (failed ones included).
  int64_t search_read_calls() const;
  //! The arguments of every search_read received: {model, domain, fields, limit, offset, order,
  //! context}.
  std::vector<nlohmann::json> search_reads() const;

 private:
  struct Model {
    std::vector<OdooField> fields;
    std::map<int64_t, nlohmann::json> records;
  };
  struct Reply {
    int http_status = 200;
    std::string body;
  };
  Reply Handle(const std::string& service, const std::string& body);
  Reply Common(const std::string& method, const nlohmann::json& params);
  Reply Object(const nlohmann::json& params);
  //! A model's records and fields, with ir.model/ir.model.fields built from the others.
  const Model* FindModel(const std::string& name, Model* scratch) const;

  std::string database_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, int64_t>> users_;  // login → (password, uid)
  std::set<std::pair<std::string, std::string>> forbidden_;       // (login, model)
  std::map<std::string, Model> models_;
  int fail_after_ = -1;
  int fail_status_ = 0;
  int delay_ms_ = 0;
  int64_t search_read_calls_ = 0;
  std::vector<nlohmann::json> search_reads_;
};

}  // namespace dew::testing
