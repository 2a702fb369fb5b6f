// `ringkv cluster plan|apply|cancel`; see cluster_admin.h.
#include "cli/cluster_admin.h"

#include "server/plan_report.h"

#include <fmt/format.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "client/kv_client.h"
#include "ring/layout.h"

namespace ringkv {
namespace {

namespace json = boost::json;

constexpr int kExitError = 1;

Result<uint32_t> parse_capacity(std::string_view text, std::string_view flag) {
  uint64_t value = 0;
  if (text.empty() || text.size() > 7)
    return Status(Code::invalid_argument, fmt::format("{}: capacity '{}' is not an integer 1..{}",
                                                      flag, text, kCapacityMax));
  for (char c : text) {
    if (c < '0' || c > '9')
      return Status(Code::invalid_argument, fmt::format("{}: capacity '{}' is not an integer 1..{}",
                                                        flag, text, kCapacityMax));
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value < 1 || value > kCapacityMax)
    return Status(Code::invalid_argument,
                  fmt::format("{}: capacity {} is outside 1..{}", flag, value, kCapacityMax));
  return static_cast<uint32_t>(value);
}

uint64_t number(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr)
    return 0;
  if (value->is_uint64())
    return value->as_uint64();
  if (value->is_int64() && value->as_int64() > 0)
    return static_cast<uint64_t>(value->as_int64());
  return 0;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", bytes, units[unit]);
}

int fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return kExitError;
}

double real(const json::object& object, const char* key) {
  const json::value* value = object.if_contains(key);
  return value && value->is_number() ? value->to_number<double>() : 0.0;
}

// The plan of a change answer as text: each node's share of the replicas
// before and after against its capacity share, the replicas to copy per n
// against the lower bound, and what they hold.
std::string plan_text(const json::object& answer) {
  const json::value* plan = answer.if_contains("plan");
  if (plan == nullptr || !plan->is_object())
    return "nothing to move: the owners already match the layout\n";
  const json::object& report = plan->as_object();
  std::string out =
      fmt::format("{:<16} {:>8} {:<10} {:>9} {:>10} {:>10} {:>8}\n", "NODE", "CAPACITY", "ZONE",
                  "CAP SHARE", "SHARE NOW", "SHARE NEXT", "ERROR");
  if (const json::value* nodes = report.if_contains("nodes"); nodes && nodes->is_array()) {
    for (const json::value& node : nodes->as_array()) {
      if (!node.is_object())
        continue;
      const json::object& row = node.as_object();
      const json::value* zone = row.if_contains("zone");
      const double wanted = real(row, "capacity_share");
      const double next = real(row, "replica_share");
      out += fmt::format(
          "{:<16} {:>8} {:<10} {:>8.2f}% {:>9.2f}% {:>9.2f}% {:>7.2f}%\n",
          row.contains("id") && row.at("id").is_string() ? std::string(row.at("id").as_string())
                                                         : "?",
          number(row, "capacity"), zone && zone->is_string() ? std::string(zone->as_string()) : "",
          100 * wanted, 100 * real(row, "replica_share_before"), 100 * next,
          wanted > 0 ? 100 * (next - wanted) / wanted : 0.0);
    }
  }
  const uint64_t moved = number(report, "moved_replicas");
  const uint64_t bound = number(report, "moved_lower_bound");
  out += fmt::format("\nreplicas to copy: {} (lower bound {}{}) for n = {}\n", moved, bound,
                     bound > 0 ? fmt::format(", ratio {:.3f}", double(moved) / bound) : "",
                     number(report, "width"));
  const json::value* by_n = report.if_contains("moved_by_n");
  const json::value* bound_by_n = report.if_contains("moved_lower_bound_by_n");
  if (by_n && bound_by_n && by_n->is_array() && bound_by_n->is_array() &&
      by_n->as_array().size() == bound_by_n->as_array().size()) {
    for (size_t n = 1; n < by_n->as_array().size(); ++n) {
      const auto& moved_n = by_n->as_array()[n - 1];
      const auto& bound_n = bound_by_n->as_array()[n - 1];
      if (moved_n.is_number() && bound_n.is_number())
        out += fmt::format("  for a store with n = {}: {} (lower bound {})\n", n,
                           moved_n.to_number<uint64_t>(), bound_n.to_number<uint64_t>());
    }
  }
  if (report.contains("estimated_bytes")) {
    out += "estimated copy: " + size_text(real(report, "estimated_bytes"));
    if (report.contains("estimated_seconds"))
      out += fmt::format(", at most about {:.0f} s at one node's transfer ceiling",
                         real(report, "estimated_seconds"));
    out += "\n";
  }
  return out;
}

}  // namespace

Result<std::string> change_body(const ClusterAdminOptions& options) {
  json::array add;
  for (const std::string& spec : options.add) {
    const size_t first = spec.find(':');
    const std::string id = spec.substr(0, first);
    if (id.empty())
      return Status(Code::invalid_argument, fmt::format("--add '{}': give ID[:CAP[:ZONE]]", spec));
    json::object entry{{"id", id}};
    if (first != std::string::npos) {
      const size_t second = spec.find(':', first + 1);
      auto capacity =
          parse_capacity(spec.substr(first + 1, second == std::string::npos ? std::string::npos
                                                                            : second - first - 1),
                         "--add " + spec);
      if (!capacity.ok())
        return capacity.status();
      entry["capacity"] = *capacity;
      if (second != std::string::npos)
        entry["zone"] = spec.substr(second + 1);
    }
    add.push_back(std::move(entry));
  }
  json::array remove;
  for (const std::string& id : options.remove) {
    if (id.empty())
      return Status(Code::invalid_argument, "--remove needs a node id");
    remove.emplace_back(id);
  }
  json::object capacity;
  for (const std::string& spec : options.reweight) {
    const size_t equals = spec.find('=');
    if (equals == std::string::npos || equals == 0)
      return Status(Code::invalid_argument, fmt::format("--reweight '{}': give ID=CAP", spec));
    auto value = parse_capacity(spec.substr(equals + 1), "--reweight " + spec);
    if (!value.ok())
      return value.status();
    capacity[spec.substr(0, equals)] = *value;
  }
  if (add.empty() && remove.empty() && capacity.empty())
    return Status(Code::invalid_argument, "give at least one --add, --remove or --reweight");
  json::object body;
  if (!add.empty())
    body["add"] = std::move(add);
  if (!remove.empty())
    body["remove"] = std::move(remove);
  if (!capacity.empty())
    body["capacity"] = std::move(capacity);
  return json::serialize(body);
}

Result<RebalanceProgress> rebalance_progress(std::string_view cluster_json) {
  boost::system::error_code error;
  const json::value parsed = json::parse(cluster_json, error);
  if (error || !parsed.is_object())
    return Status(Code::invalid_argument, "the node's /v1/cluster answer is not a JSON object");
  const json::object& root = parsed.as_object();
  RebalanceProgress out;
  const json::value* balanced = root.if_contains("balanced");
  out.balanced = balanced != nullptr && balanced->is_bool() && balanced->as_bool();
  out.layout_version = number(root, "layout_version");
  out.target_version = number(root, "target_version");
  if (const json::value* under = root.if_contains("under_replicated"); under && under->is_object())
    out.under_replicated = number(under->as_object(), "count");
  if (const json::value* members = root.if_contains("members"); members && members->is_array()) {
    for (const json::value& member : members->as_array()) {
      const json::object* row = member.if_object();
      const json::value* moves = row ? row->if_contains("moves") : nullptr;
      if (moves == nullptr || !moves->is_object())
        continue;
      out.moves_total += number(moves->as_object(), "total");
      out.moves_done += number(moves->as_object(), "done");
      out.bytes += number(moves->as_object(), "bytes");
    }
  }
  return out;
}

std::string progress_line(const RebalanceProgress& progress, double bytes_per_sec) {
  if (progress.balanced)
    return fmt::format("balanced: layout version {}", progress.layout_version);
  constexpr int kWidth = 30;
  const double fraction =
      progress.moves_total == 0 ? 0 : double(progress.moves_done) / double(progress.moves_total);
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::string eta = "-";
  if (bytes_per_sec > 0 && progress.moves_done > 0) {
    const double bytes_per_move = double(progress.bytes) / double(progress.moves_done);
    const double seconds =
        bytes_per_move * double(progress.moves_total - progress.moves_done) / bytes_per_sec;
    eta = fmt::format("{:.0f} s", seconds);
  }
  return fmt::format("[{}] {}/{} partitions, {} moved, {}/s, ETA {} (layout {} -> {})", bar,
                     progress.moves_done, progress.moves_total, human_bytes(double(progress.bytes)),
                     human_bytes(bytes_per_sec), eta, progress.layout_version,
                     progress.target_version);
}

void add_cluster_admin_commands(CLI::App& cluster, ClusterAdminOptions& options, CLI::App*& plan,
                                CLI::App*& apply, CLI::App*& cancel) {
  plan = cluster.add_subcommand("plan", "show what a change would move, without committing it");
  apply = cluster.add_subcommand("apply", "commit a change: data moves while traffic continues");
  for (CLI::App* command : {plan, apply}) {
    command->add_option("--add", options.add,
                        "add a member (started with --no-auto-add) as ID[:CAPACITY[:ZONE]]");
    command->add_option("--remove", options.remove,
                        "remove a node (its data moves to the others first; a dead one is "
                        "rebuilt from the other replicas)");
    command->add_option("--reweight", options.reweight, "change a node's capacity, ID=CAPACITY");
    command->add_flag("--json", options.json, "print the node's JSON answer");
  }
  apply->add_flag("--wait", options.wait,
                  "show progress until the cluster is balanced (Ctrl-C stops watching, not the "
                  "move)");
  apply->add_option("--wait-timeout-s", options.wait_timeout_s,
                    "with --wait: give up watching after this many seconds (exit 1)");
  cancel = cluster.add_subcommand("cancel",
                                  "stop the change in progress and restore the layout's owners");
  cancel->add_flag("--json", options.json, "print the node's JSON answer");
}

int run_cluster_admin(KvClient& client, const ClusterAdminOptions& options, bool dry_run,
                      bool cancel) {
  std::string body = "{}";
  if (!cancel) {
    auto built = change_body(options);
    if (!built.ok())
      return fail(built.status());
    body = std::move(*built);
  }
  auto answer = client.change_cluster(std::move(body), dry_run, cancel);
  if (!answer.ok())
    return fail(answer.status());
  if (options.json) {
    std::printf("%s\n", answer->c_str());
  } else {
    boost::system::error_code error;
    const json::value parsed = json::parse(*answer, error);
    if (error || !parsed.is_object())
      return fail(Status(Code::internal, "the node's answer is not a JSON object: " + *answer));
    std::printf("%s%s", plan_text(parsed.as_object()).c_str(),
                dry_run  ? "(dry run: nothing committed; `ringkv cluster apply` commits it)\n"
                : cancel ? "cancelled: the layout's owners are restored; copies already made "
                           "are dropped after the grace period\n"
                         : "committed: data is moving; `ringkv cluster status` shows progress\n");
  }
  if (!options.wait || dry_run)
    return 0;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_time = start;
  uint64_t last_bytes = 0;
  double rate = 0;
  const bool terminal = ::isatty(::fileno(stdout)) != 0;
  while (true) {
    auto view = client.cluster();
    if (!view.ok())
      return fail(view.status());
    auto progress = rebalance_progress(*view);
    if (!progress.ok())
      return fail(progress.status());
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - last_time).count();
    if (seconds > 0 && progress->bytes >= last_bytes)
      rate = 0.7 * rate + 0.3 * double(progress->bytes - last_bytes) / seconds;
    last_bytes = progress->bytes;
    last_time = now;
    std::printf(terminal ? "\r%s\033[K" : "%s\n", progress_line(*progress, rate).c_str());
    std::fflush(stdout);
    if (progress->balanced) {
      std::printf("%s", terminal ? "\n" : "");
      return 0;
    }
    if (options.wait_timeout_s > 0 && now - start > std::chrono::seconds(options.wait_timeout_s)) {
      std::printf("%s", terminal ? "\n" : "");
      return fail(Status(Code::unavailable,
                         fmt::format("not balanced after {} s; the move goes on (watch it with "
                                     "`ringkv cluster status`)",
                                     options.wait_timeout_s)));
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace ringkv
