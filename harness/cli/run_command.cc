#include "cli/run_command.h"

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "base/digest.h"
#include "base/error.h"
#include "base/file.h"
#include "base/interrupt.h"
#include "base/paths.h"
#include "base/process.h"
#include "base/redact.h"
#include "base/text.h"
#include "cli/command.h"
#include "control/lab_ops.h"
#include "control/ssh_lab_control.h"
#include "lab/fault.h"
#include "providers/registry.h"
#include "report/report_console.h"
#include "report/report_files.h"
#include "run/matrix.h"
#include "run/parallel.h"
#include "run/run_sequence.h"
#include "run/shard.h"
#include "run/runner.h"
#include "scenario/scenario.h"

namespace fs = std::filesystem;

namespace dcslab {

const char* const kRunHelp = R"(usage: dcslab run [OPTIONS] [SCENARIO.yaml|DIR]...

Runs scenarios (a folder: its *.yaml, sorted; default: scenarios/) on the lab, bringing
it up first if needed. Every file is checked before anything boots. A step's actions:
run, put, get, copy (files from node to node), wait_for_port, wait_for_unit, reboot,
relogin, pki_issue, expect_tls, writer, watcher, check_writes, fault (docs/SCENARIOS.md).

  --list              list the scenarios (name, tags, steps) and exit
  --only NAME[,NAME]  run only these scenarios (and what they require)
  --tags TAG[,TAG]    run only scenarios with one of these tags
  --keep-going        run a scenario's remaining steps after a failed one
  --down              tear the lab down at the end (default: keep it, also on failure)
  --junit FILE        JUnit XML report
  --json FILE         JSON report
  --transcript FILE   Markdown transcript: commands as run and output observed
  --artifacts DIR     per-step output and diagnostics (default: <lab state>/runs/<time>/;
                      with --down: $DCSLAB_HOME/runs/<lab>-<time>/)
  --lab FILE          run on this lab file instead of the scenarios' own
  --suite S, --name N the lab's Debian suite and name
  --provider P, --isolated   how the lab is brought up (these five are dcslab's global
                      options, before or after `run`)
  --parallel N        spread scenarios that do not require each other over N labs of
                      their own (<lab>-1..N, each isolated), run at once, one report;
                      the labs are taken down at the end
  --keep              with --parallel or --matrix: leave the labs up
                      (dcslab --name <lab>-1 ...)
  --seed N            seed for the run's random choices (a fault's pick: random);
                      default: a random seed, printed ("seed N: replay with --seed N")
  --matrix KEY=V,V    run everything once per value (suite=bookworm,trixie), each on a
                      lab of its own named <lab>-<value>, one after another; a table of
                      scenarios by cells at the end, a JUnit testsuite per cell; each
                      cell's lab is taken down after it unless --keep
  --shard K/N         run only the K-th of N slices of the run (1 <= K <= N), for a CI
                      system's own matrix: a scenario stays with the selected ones it
                      requires or is required by; with --matrix, whole cells (every
                      N-th). The same files give the same slices on every runner; a
                      shard may be empty. Without --seed, every shard derives the same
                      seed from the run. `dcslab report merge` joins the shards' --json
                      reports into the run's (docs/SHARDING.md); --list shows the slice

Exit status: 0 all passed, 1 a step failed, 2 bad input, 3 infrastructure failure.
)";

namespace {

struct RunArgs {
  std::vector<fs::path> paths;
  bool list = false, keep_going = false, down = false, help = false;
  int parallel = 0;  // --parallel N: labs
  bool keep = false;
  std::vector<std::string> only, tags;
  std::optional<fs::path> junit, json, transcript, artifacts, lab;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> matrix;  // --matrix KEY=V1,V2 (matrix.h), one per dimension
  std::optional<std::string> suite, name;  // the global --suite and --name, forwarded
  std::optional<ShardSpec> shard;          // --shard K/N (shard.h)
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) v.push_back(item);
  return v;
}

RunArgs parse_args(const std::vector<std::string>& args) {
  RunArgs a;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& w = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw BadInput("run: " + w + " needs a value (see dcslab run --help)");
      return args[++i];
    };
    if (w == "--list") a.list = true;
    else if (w == "--keep-going") a.keep_going = true;
    else if (w == "--down") a.down = true;
    else if (w == "-h" || w == "--help") a.help = true;
    else if (w == "--only") for (auto& x : split_commas(value())) a.only.push_back(x);
    else if (w == "--tags") for (auto& x : split_commas(value())) a.tags.push_back(x);
    else if (w == "--junit") a.junit = value();
    else if (w == "--json") a.json = value();
    else if (w == "--transcript") a.transcript = value();
    else if (w == "--artifacts") a.artifacts = value();
    else if (w == "--lab") a.lab = value();
    else if (w == "--parallel") {
      const std::string v = value();
      if (v.empty() || v.size() > 2 || v.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(v) < 1 || std::stoi(v) > 16)
        throw BadInput("run: --parallel: \"" + v + "\" is not a number of labs from 1 to 16");
      a.parallel = std::stoi(v);
    }
    else if (w == "--keep") a.keep = true;
    else if (w == "--matrix") a.matrix.push_back(value());
    else if (w == "--shard") a.shard = parse_shard(value());
    else if (w == "--suite") a.suite = value();
    else if (w == "--name") a.name = value();
    else if (w == "--seed") {
      const std::string v = value();
      if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
        throw BadInput("run: --seed: \"" + v + "\" is not a number (0 to 18 digits' worth)");
      a.seed = std::stoull(v);
    }
    else if (w.size() > 1 && w[0] == '-')
      throw BadInput("run: unknown option " + w + " (see dcslab run --help)");
    else a.paths.emplace_back(w);
  }
  return a;
}

std::vector<fs::path> yaml_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A scenario file, its lab loaded and checked as every lab dcslab uses is (the provider
// registry's check of its provider section), with the lab errors placed as the scenario
// loader places them (at the scenario's `lab:` key when it has one).
Scenario load_checked_scenario(const fs::path& file, const std::optional<fs::path>& lab_override,
                               const std::optional<fs::path>& inherited = std::nullopt) {
  auto text = read_file(file);  // a folder fails too (EISDIR)
  if (!text) throw BadInput(file.string() + ": cannot read scenario file");
  const LabResolver resolve = default_lab_resolver(file, lab_override, inherited);
  return parse_scenario(*text, file, [&](const std::string& value) {
    auto lab = resolve(value);
    check_provider_section(lab.first);
    return lab;
  });
}

std::string timestamp_folder() { return utc_compact(std::chrono::system_clock::now()); }

// Every scenario a run may touch, by name, with the ones the user selected in order.
class Catalog {
 public:
  explicit Catalog(std::optional<fs::path> lab) : lab_(std::move(lab)) {}

  // `inherited`: the lab of the scenario that requires this file, for a file that names
  // no lab of its own (scenario.h, default_lab_resolver).
  const Scenario& add_file(const fs::path& file,
                           const std::optional<fs::path>& inherited = std::nullopt) {
    const auto key = fs::absolute(file).lexically_normal().string();
    if (auto it = by_file_.find(key); it != by_file_.end()) return scenarios_.at(it->second);
    Scenario sc = load_checked_scenario(file, lab_, inherited);
    if (auto it = scenarios_.find(sc.name); it != scenarios_.end())
      throw BadInput(file.string() + ": name: scenario \"" + sc.name + "\" is also defined in " +
                     it->second.file.string());
    by_file_[key] = sc.name;
    const std::string name = sc.name;
    scenarios_.emplace(name, std::move(sc));
    return scenarios_.at(name);
  }

  // Loads what `sc` requires, recursively; names are looked up among the loaded
  // scenarios, then in the *.yaml beside the requiring file.
  void resolve_requires(const std::string& name, std::vector<std::string>& stack) {
    if (std::find(stack.begin(), stack.end(), name) != stack.end()) {
      std::string cycle;
      for (const auto& s : stack) cycle += s + " -> ";
      throw BadInput(scenarios_.at(name).file.string() + ": requires: a cycle: " + cycle + name);
    }
    if (resolved_.count(name)) return;
    stack.push_back(name);
    const Scenario& sc = scenarios_.at(name);
    const fs::path lab_file = sc.lab_file;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < sc.requires_.size(); ++i) {
      const std::string& r = sc.requires_[i];
      if (fs::path(r).is_absolute()) {
        names.push_back(add_file(r, lab_file).name);
        continue;
      }
      if (!scenarios_.count(r)) {
        for (const auto& f : yaml_in(scenarios_.at(name).file.parent_path().empty()
                                         ? fs::path(".")
                                         : scenarios_.at(name).file.parent_path())) {
          if (f.stem() == r || peek_name(f) == r) {
            add_file(f, lab_file);
            break;
          }
        }
      }
      if (!scenarios_.count(r)) {
        std::string known;
        for (const auto& [n, s] : scenarios_) known += (known.empty() ? "" : ", ") + n;
        throw BadInput(scenarios_.at(name).requires_at[i] + ": no scenario named \"" + r +
                       "\" (valid: " + known + ")");
      }
      names.push_back(r);
    }
    requires_[name] = names;
    for (const auto& n : names) resolve_requires(n, stack);
    stack.pop_back();
    resolved_.insert(name);
  }

  const Scenario& get(const std::string& name) const { return scenarios_.at(name); }
  const std::vector<std::string>& requires_of(const std::string& name) const {
    return requires_.at(name);
  }
  const std::map<std::string, Scenario>& all() const { return scenarios_; }

 private:
  // The `name:` of a file without fully loading it (a cheap first look).
  static std::string peek_name(const fs::path& f) {
    try {
      return load_scenario(f).name;
    } catch (const BadInput&) {
      return {};
    }
  }
  std::optional<fs::path> lab_;
  std::map<std::string, Scenario> scenarios_;
  std::map<std::string, std::string> by_file_;
  std::map<std::string, std::vector<std::string>> requires_;
  std::set<std::string> resolved_;
};

// The three report files of a run, or of a matrix of runs.
struct ReportFiles {
  std::string junit, json, transcript;
};

ReportFiles report_files(const RunReport& report) {
  return {junit_xml(report), json_report(report), transcript_markdown(report)};
}

// Into the artifacts folder always, and wherever --junit, --json and --transcript ask.
void write_requested_reports(const ReportFiles& files, const RunArgs& a);
void write_reports(const ReportFiles& files, const fs::path& artifacts, const RunArgs& a) {
  write_text_file(artifacts / "junit.xml", files.junit);
  write_text_file(artifacts / "report.json", files.json);
  write_text_file(artifacts / "transcript.md", files.transcript);
  write_requested_reports(files, a);
}

// Only where --junit, --json and --transcript ask (a shard with nothing to run has no
// artifacts folder, but the merge needs its report).
void write_requested_reports(const ReportFiles& files, const RunArgs& a) {
  if (a.junit) write_text_file(*a.junit, files.junit);
  if (a.json) write_text_file(*a.json, files.json);
  if (a.transcript) write_text_file(*a.transcript, files.transcript);
}

bool is_default_lab_file(const fs::path& file) {
  std::error_code ec;
  return fs::weakly_canonical(file, ec) == fs::weakly_canonical(default_lab_file(), ec);
}

// How a pasted command reaches the run's lab: its lab file unless the default one, its
// name when the run renamed it (--name, a matrix cell, a lab of --parallel), and the
// provider, suite and isolation dcslab was given.
LabAddress run_lab_address(const RunArgs& a, const Scenario& first, const Lab& run_lab,
                           const RunEnv& env) {
  LabAddress address = LabAddress::of(env.global);
  address.lab_file = a.lab                                ? a.lab
                     : is_default_lab_file(first.lab_file) ? std::nullopt
                                                           : std::optional(fs::absolute(first.lab_file));
  address.name = run_lab.name == first.lab.name ? "" : run_lab.name;
  address.suite = a.suite.value_or("");
  return address;
}

// `run --parallel N` (parallel.h): the selected scenarios in groups that do not require
// each other, each group a child `dcslab run` on a lab of its own; one merged report.
int run_on_parallel_labs(const RunArgs& a, const std::vector<fs::path>& paths,
                         const std::vector<std::string>& selected, const ScenarioGraph& graph,
                         const Scenario& first, const Lab& run_lab, std::uint64_t seed,
                         const RunEnv& env) {
  if (env.self.empty()) throw BadInput("run: --parallel is not available here");
  if (a.down) throw BadInput("run: --parallel takes its labs down at the end anyway (--keep leaves them)");
  const auto groups = partition_scenarios(
      selected, graph.requires_of,
      [&](const std::string& n) { return 1.0 + static_cast<double>(graph.get(n).steps.size()); },
      a.parallel);
  ParallelPlan plan;
  plan.self = env.self;
  plan.lab = run_lab.name;  // the scenarios' lab, or --name's
  plan.lab_file = fs::absolute(a.lab ? *a.lab : first.lab_file);
  plan.keep = a.keep;
  plan.artifacts = a.artifacts ? fs::absolute(*a.artifacts)
                               : dcslab_home() / "runs" / (run_lab.name + "-parallel-" + timestamp_folder());
  // One seed for every lab: the run replays as a whole.
  plan.run_args = {"--seed", std::to_string(seed)};
  if (a.keep_going) plan.run_args.push_back("--keep-going");
  if (a.suite) plan.run_args.insert(plan.run_args.end(), {"--suite", *a.suite});
  if (a.lab) plan.run_args.insert(plan.run_args.end(), {"--lab", fs::absolute(*a.lab).string()});
  for (const auto& p : paths) plan.run_args.push_back(fs::absolute(p).string());
  const auto runs = plan_lab_runs(plan, groups);
  env.out << selected.size() << " scenario" << (selected.size() == 1 ? "" : "s") << " on "
          << runs.size() << " lab" << (runs.size() == 1 ? "" : "s")
          << (static_cast<int>(runs.size()) < a.parallel
                  ? " (only " + std::to_string(runs.size()) + " independent groups)"
                  : "")
          << ":\n";
  for (const auto& r : runs) {
    env.out << "  " << r.lab << ":";
    for (const auto& n : r.scenarios) env.out << " " << n;
    env.out << "\n";
  }
  env.out.flush();
  fs::create_directories(plan.artifacts);

  const auto start = std::chrono::steady_clock::now();
  RunReport report;
  const int status = run_parallel(plan, runs, env.launch ? env.launch : ProcessLauncher(run_process_lines),
                                  env.out, report);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.seed = std::to_string(seed);
  for (const auto& sc : report.scenarios)
    if (!sc.error.empty() && sc.steps.empty()) env.out << "== " << sc.name << " (" << sc.lab << "): " << sc.error << "\n";
  ConsoleReporter console(env.out, locale_is_utf8());
  console.run_finished(report);
  write_reports(report_files(report), plan.artifacts, a);
  env.out << "artifacts: " << plan.artifacts.string() << " (each lab's in a folder of its own)\n";
  if (a.keep) {
    // Each lab has its own name; its file is the run's.
    LabAddress address = run_lab_address(a, first, run_lab, env);
    address.lab_file = plan.lab_file;
    for (const auto& r : runs) {
      address.name = r.lab;
      env.out << "lab " << r.lab << " kept: " << address.command("ssh " + first.lab.nodes.front().name) << "\n";
    }
  }
  return status;
}

// What a run of scenarios is called in a matrix's report: the folder or file given
// (scenarios/seed/ -> seed), else "scenarios".
std::string run_name(const std::vector<fs::path>& paths) {
  if (paths.size() != 1) return "scenarios";
  fs::path p = paths.front().lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const std::string name = fs::is_directory(p) ? p.filename().string() : p.stem().string();
  return name.empty() || name == "." ? "scenarios" : name;
}

int run_checked(const std::vector<std::string>& args, const LabControlFactory& make_lab_control,
                const RunEnv& env, MatrixCellResult* cell = nullptr);

// `run --matrix` (matrix.h): the same run once per cell, one after another, each a run
// of its own on the cell's lab (<lab>-<values>), taken down after it unless --keep;
// then the table and the matrix's reports.
int run_matrix(const RunArgs& a, const std::vector<std::string>& args,
               const std::vector<fs::path>& paths, const std::vector<std::string>& order,
               std::vector<std::string> lines, const Lab& run_lab, std::uint64_t seed,
               const LabControlFactory& make_lab_control, const RunEnv& env) {
  if (a.parallel > 0)
    throw BadInput("run: --matrix and --parallel together: not supported (a matrix runs its cells one after another)");
  const auto dims = parse_matrix_args(a.matrix);
  for (const auto& d : dims)
    if (d.key == "suite" && a.suite)
      throw BadInput("run: --matrix suite=...: the suite is also given by --suite " + *a.suite +
                     " (choose one)");
  const auto all_cells = matrix_cells(dims);
  std::vector<Lab> labs;  // every cell's lab name checked before anything boots
  for (const auto& c : all_cells) labs.push_back(apply_cell(run_lab, c));
  const std::string name = run_name(paths);
  // --shard K/N: whole cells, every N-th; the shard's reports say which of all.
  std::vector<MatrixCell> cells = all_cells;
  ShardInfo shard;
  if (a.shard) {
    cells.clear();
    std::vector<Lab> mine;
    shard.index = a.shard->index;
    shard.count = a.shard->count;
    for (const auto& c : all_cells) {
      shard.order.push_back(c.label());
      lines.push_back("cell " + c.label());
    }
    for (std::size_t i : shard_cells(all_cells.size(), *a.shard)) {
      cells.push_back(all_cells[i]);
      mine.push_back(labs[i]);
      shard.slice.push_back(all_cells[i].label());
    }
    labs = std::move(mine);
    shard.run = run_digest(lines);
    env.out << "shard " << a.shard->text() << ": " << cells.size() << " of " << all_cells.size()
            << " cells" << (cells.empty() ? " (nothing to run here)" : "") << "\n";
  }
  const fs::path dir = a.artifacts ? fs::absolute(*a.artifacts)
                                   : dcslab_home() / "runs" / (run_lab.name + "-matrix-" + timestamp_folder());
  env.out << "matrix " << name << ": " << cells.size() << " cell" << (cells.size() == 1 ? "" : "s") << ":";
  for (std::size_t i = 0; i < cells.size(); ++i) env.out << " " << cells[i].label() << " (lab " << labs[i].name << ")";
  env.out << "\n";
  env.out.flush();

  // Each cell's arguments: the run's, without --matrix and the report files (the matrix
  // writes those), with the run's seed and an artifacts folder of the cell's own.
  std::vector<std::string> base;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& w = args[i];
    if (w == "--matrix" || w == "--junit" || w == "--json" || w == "--transcript" ||
        w == "--artifacts" || w == "--seed" || w == "--shard") {
      ++i;
      continue;
    }
    base.push_back(w);
  }
  base.insert(base.end(), {"--seed", std::to_string(seed)});
  std::vector<MatrixCellResult> results;
  for (std::size_t i = 0; i < cells.size() && !g_interrupted; ++i) {
    env.out << "\n=== matrix cell " << cells[i].label() << ": lab " << labs[i].name << "\n";
    env.out.flush();
    MatrixCellResult r{cells[i], labs[i].name, {}, "", 0};
    std::vector<std::string> cell_args = base;
    cell_args.insert(cell_args.end(), {"--artifacts", (dir / cells[i].suffix()).string()});
    try {
      r.exit_status = run_checked(cell_args, make_lab_control, env, &r);
    } catch (const Fatal& e) {
      r.error = e.what();
      r.exit_status = 3;
      env.err << "dcslab: matrix cell " << cells[i].label() << ": " << e.what() << "\n";
    }
    results.push_back(std::move(r));
  }

  env.out << "\nmatrix " << name << ":\n" << matrix_table(order, results);
  ReportFiles files{matrix_junit_xml(name, results), matrix_json(dims, results, name, shard, std::to_string(seed)), ""};
  for (const auto& r : results)
    if (r.error.empty()) files.transcript += transcript_markdown(r.report) + "\n";
  write_reports(files, dir, a);
  env.out << "artifacts: " << dir.string() << " (each cell's in a folder of its own)\n";
  return matrix_exit_status(results);
}

// Loads every file given (a folder: its *.yaml) and what each requires, all checked
// before anything boots. Returns the scenarios given, by name, in order.
std::vector<std::string> load_scenarios(Catalog& catalog, const std::vector<fs::path>& paths) {
  std::vector<std::string> given;
  for (const auto& p : paths) {
    if (!fs::exists(p)) throw BadInput(p.string() + ": no such scenario file or folder");
    const auto files = fs::is_directory(p) ? yaml_in(p) : std::vector<fs::path>{p};
    if (files.empty()) throw BadInput(p.string() + ": no *.yaml scenarios in this folder");
    for (const auto& f : files) {
      const std::string name = catalog.add_file(f).name;
      if (std::find(given.begin(), given.end(), name) == given.end()) given.push_back(name);
    }
  }
  for (const auto& name : given) {
    std::vector<std::string> stack;
    catalog.resolve_requires(name, stack);
  }
  return given;
}

// The scenarios given that --only and --tags select, in the order given.
std::vector<std::string> select_scenarios(const Catalog& catalog, const std::vector<std::string>& given,
                                          const RunArgs& a) {
  for (const auto& o : a.only)
    if (std::find(given.begin(), given.end(), o) == given.end())
      throw BadInput("run: --only: no scenario named \"" + o + "\" (valid: " + join(given, ", ") + ")");
  std::vector<std::string> selected;
  for (const auto& name : given) {
    const Scenario& sc = catalog.get(name);
    if (!a.only.empty() && std::find(a.only.begin(), a.only.end(), name) == a.only.end()) continue;
    if (!a.tags.empty() &&
        std::none_of(a.tags.begin(), a.tags.end(), [&](const std::string& t) {
          return std::find(sc.tags.begin(), sc.tags.end(), t) != sc.tags.end();
        }))
      continue;
    selected.push_back(name);
  }
  return selected;
}

// `run --list`: name, steps, lab, tags, requires, file and first line of the description.
int list_scenarios(const Catalog& catalog, const std::vector<std::string>& selected, std::ostream& out) {
  for (const auto& name : selected) {
    const Scenario& sc = catalog.get(name);
    out << sc.name << "  (" << sc.steps.size() << " steps, lab " << sc.lab.name << ")";
    if (!sc.tags.empty()) out << "  tags: " << join(sc.tags, " ");
    if (!catalog.requires_of(name).empty()) out << "  requires: " << join(catalog.requires_of(name), " ");
    if (!sc.from.empty()) out << "  from: " << sc.from;
    out << "\n    " << sc.file.string();
    if (!sc.description.empty()) out << ": " << sc.description.substr(0, sc.description.find('\n'));
    out << "\n";
  }
  return 0;
}

// One lab per run (the scenarios' states build on each other), and every secret a
// scenario takes from the environment set.
void check_run_lab(const Catalog& catalog, const std::vector<std::string>& order) {
  const Scenario& first = catalog.get(order.front());
  for (const auto& n : order) {
    const Scenario& sc = catalog.get(n);
    if (sc.lab.name != first.lab.name)
      throw BadInput(sc.file.string() + ": lab: this scenario runs on lab \"" + sc.lab.name +
                     "\" (" + sc.lab_file.string() + ") but " + first.name + " on \"" +
                     first.lab.name + "\"; run them separately or pass --lab");
    for (const auto& s : sc.secrets)
      if (s.generate == 0 && !std::getenv(s.env.c_str()))
        throw BadInput(sc.file.string() + ": secrets." + s.name + ": environment variable " +
                       s.env + " is not set");
  }
}

// What a scenario costs in a shard's balance (as in --parallel's): its steps.
std::function<double(const std::string&)> scenario_cost(const ScenarioGraph& graph) {
  return [&graph](const std::string& n) { return 1.0 + static_cast<double>(graph.get(n).steps.size()); };
}

// The run as every runner sees it: each scenario in order with its file's digest (the
// same checkout gives the same lines on any machine, wherever it is).
std::vector<std::string> run_lines(const Catalog& catalog, const std::vector<std::string>& order) {
  std::vector<std::string> lines;
  for (const auto& n : order) {
    auto text = read_file(catalog.get(n).file);
    lines.push_back("scenario " + n + " " + sha256_hex(text ? *text : std::string()));
  }
  return lines;
}

ShardInfo shard_info(const ShardSpec& spec, const Catalog& catalog, const std::vector<std::string>& order,
                     const std::vector<std::string>& slice) {
  ShardInfo info;
  info.index = spec.index;
  info.count = spec.count;
  info.run = run_digest(run_lines(catalog, order));
  info.order = order;
  info.slice = slice;
  return info;
}

// "shard 2/4: 3 of 12 scenarios: a b c" (or why it is empty).
std::string shard_summary(const ShardSpec& spec, const std::vector<std::vector<std::string>>& slices,
                          std::size_t total) {
  const auto& mine = slices[static_cast<std::size_t>(spec.index - 1)];
  std::size_t groups = 0;
  for (const auto& s : slices) groups += s.empty() ? 0 : 1;
  if (mine.empty())
    return "shard " + spec.text() + ": empty: the run's " + std::to_string(total) + " scenario" +
           (total == 1 ? "" : "s") + " make " + std::to_string(groups) + " group" +
           (groups == 1 ? "" : "s") + " that must each run on one lab; nothing to run here\n";
  return "shard " + spec.text() + ": " + std::to_string(mine.size()) + " of " + std::to_string(total) +
         " scenarios: " + join(mine, " ") + "\n";
}

// The scenarios' lab with the run's --name and --suite.
Lab run_lab_of(const Lab& lab, const RunArgs& a) {
  Lab run_lab = lab;
  if (a.name) {
    if (!valid_lab_name(*a.name))
      throw BadInput("run: --name: \"" + *a.name + "\" must be lower-case letters, digits and '-', at most 32");
    run_lab.name = *a.name;
  }
  if (a.suite) {
    const auto suites = known_matrix_dimensions().front().values;
    if (std::find(suites.begin(), suites.end(), *a.suite) == suites.end())
      throw BadInput("run: --suite: unknown suite \"" + *a.suite + "\" (valid: bullseye, bookworm, trixie, forky)");
    run_lab.image.suite = *a.suite;
  }
  return run_lab;
}

// The run's artifacts: --artifacts; else beside the lab's state, or, when the lab goes
// down at the end (which removes that folder), in $DCSLAB_HOME/runs/ so the evidence
// outlives the lab.
fs::path artifacts_folder(const RunArgs& a, LabControl& lab, bool down) {
  const fs::path state_dir = lab.state().dir();  // $DCSLAB_HOME/labs/<lab>
  if (a.artifacts) return *a.artifacts;
  if (down) return state_dir.parent_path().parent_path() / "runs" / (lab.lab().name + "-" + timestamp_folder());
  return state_dir / "runs" / timestamp_folder();
}

// The run on one lab: bring it up, run the scenarios in order, write the reports, and
// take the lab down if asked (--down, or a matrix cell without --keep).
int run_on_lab(const RunArgs& a, const ScenarioGraph& graph, const std::vector<std::string>& selected,
               const Lab& run_lab, const LabAddress& address, std::uint64_t seed,
               const LabControlFactory& make_lab_control, const RunEnv& env, MatrixCellResult* cell,
               const ShardInfo& shard) {
  const bool down = a.down || (cell && !a.keep);
  std::unique_ptr<LabControl> lab = make_lab_control(run_lab);
  if (auto up = lab->ensure_up(env.progress); !up) {
    const std::string why = "the lab could not come up: " + up.error().message;
    env.err << "dcslab: " << complete_suggestions(why, address, lab_command_names()) << "\n";
    if (cell) {
      cell->error = why;
      if (down && !lab->down(env.progress)) env.err << "dcslab: lab down failed too\n";
    }
    return 3;
  }

  const fs::path artifacts = artifacts_folder(a, *lab, down);
  fs::create_directories(artifacts);
  Redactor redactor;
  // A lab that stays up is pointed at with the command that reaches it.
  ConsoleReporter console(env.out, locale_is_utf8(), down ? "" : address.dcslab());
  ArtifactsReporter files(artifacts);
  RunnerOptions options;
  options.keep_going = a.keep_going;
  options.artifacts_dir = artifacts;
  options.seed = seed;
  Runner runner(*lab, env.clock, env.progress, redactor, {&console, &files}, options);
  RunReport report;
  report.lab = lab->lab().name;
  report.started_at = utc_now_iso8601();
  report.seed = std::to_string(seed);
  report.shard = shard;
  const auto start = env.clock.now();
  // Each scenario after what it requires, or from its `from:` lab state.
  try {
    run_sequence(graph, selected, *lab, runner, env.progress, env.out, report);
  } catch (const BadInput&) {
    throw;
  } catch (const std::exception& e) {
    // dcslab's own failure between steps (a snapshot revert, a writer): the reports of
    // what ran are still written, with this as an errored scenario, and the exit is 3.
    ScenarioResult internal;
    internal.name = "dcslab";
    internal.lab = lab->lab().name;
    internal.started_at = utc_now_iso8601();
    internal.error = redactor(std::string("internal error: ") + e.what());
    internal.infrastructure_failed = true;
    report.scenarios.push_back(std::move(internal));
    env.err << "dcslab: " << e.what() << "\n";
  }
  report.seconds = std::chrono::duration<double>(env.clock.now() - start).count();
  console.run_finished(report);
  write_reports(report_files(report), artifacts, a);
  env.out << "artifacts: " << artifacts.string() << "\n";
  if (cell) cell->report = report;

  if (down) {
    if (auto d = lab->down(env.progress); !d) {
      env.err << "dcslab: lab down failed: " << complete_suggestions(d.error().message, address, lab_command_names()) << "\n";
      return 3;
    }
    env.out << "lab " << lab->lab().name << " torn down" << (a.down ? " (--down)" : " (matrix cell)") << "\n";
  }
  if (report.infrastructure_failed()) return 3;
  return report.failed() ? 1 : 0;
}

int run_checked(const std::vector<std::string>& args, const LabControlFactory& make_lab_control,
                const RunEnv& env, MatrixCellResult* cell) {
  const RunArgs a = parse_args(args);
  if (a.help) {
    env.out << kRunHelp;
    return 0;
  }
  // 1. Load and check every file, and everything it requires, before anything boots.
  std::vector<fs::path> paths = a.paths;
  if (paths.empty()) paths.push_back(fs::exists("scenarios") ? fs::path("scenarios") : data_dir() / "scenarios");
  Catalog catalog(a.lab);
  const std::vector<std::string> given = load_scenarios(catalog, paths);

  // 2. Select, and order: each scenario after what it requires, all on one lab.
  const std::vector<std::string> all_selected = select_scenarios(catalog, given, a);
  const ScenarioGraph graph{
      [&](const std::string& n) -> const Scenario& { return catalog.get(n); },
      [&](const std::string& n) -> const std::vector<std::string>& { return catalog.requires_of(n); }};
  if (a.shard && a.parallel > 0)
    throw BadInput("run: --shard and --parallel together: not supported (a shard runs on one lab; use more shards)");
  // --shard K/N: this runner's slice (a matrix slices its cells instead, below).
  std::vector<std::string> selected = all_selected;
  ShardInfo shard;
  if (a.shard && a.matrix.empty() && !all_selected.empty()) {
    const auto slices = shard_scenarios(all_selected, graph.requires_of, scenario_cost(graph), a.shard->count);
    selected = slices[static_cast<std::size_t>(a.shard->index - 1)];
    shard = shard_info(*a.shard, catalog, run_order(graph, all_selected), selected);
    env.out << shard_summary(*a.shard, slices, all_selected.size());
  }
  if (a.list && a.shard && !a.matrix.empty()) {
    const auto cells = matrix_cells(parse_matrix_args(a.matrix));
    std::vector<std::string> mine;
    for (std::size_t i : shard_cells(cells.size(), *a.shard)) mine.push_back(cells[i].label());
    env.out << "shard " << a.shard->text() << ": " << mine.size() << " of " << cells.size()
            << " cells" << (mine.empty() ? " (nothing to run here)" : ": " + join(mine, " ")) << "\n";
  }
  if (a.list) return list_scenarios(catalog, selected, env.out);
  if (all_selected.empty()) throw BadInput("run: no scenario matches --only/--tags");
  const std::vector<std::string> order = run_order(graph, all_selected);
  check_run_lab(catalog, order);
  const Scenario& first = catalog.get(order.front());

  // The seed first, so even a run that fails to bring the lab up can be replayed. The
  // shards of a run share one: without --seed, each derives it from the run's digest.
  const std::uint64_t seed = a.seed ? *a.seed : a.shard ? shard_seed(run_digest(run_lines(catalog, order))) : random_seed();
  env.out << "seed " << seed << ": replay with --seed " << seed
          << (a.shard && !a.seed ? " (--shard: the same on every shard; --seed to choose)" : "") << "\n";

  // 3. The lab: the scenarios', with --name and --suite, and a matrix cell's values.
  Lab run_lab = run_lab_of(first.lab, a);
  // --matrix: the whole run once per cell (each cell comes back here with `cell` set).
  if (!a.matrix.empty())
    return run_matrix(a, args, paths, order, run_lines(catalog, order), run_lab, seed, make_lab_control, env);
  if (cell) run_lab = apply_cell(run_lab, cell->cell);
  // --parallel N: independent scenarios on labs of their own, each a child dcslab.
  if (a.parallel > 0) return run_on_parallel_labs(a, paths, selected, graph, first, run_lab, seed, env);
  if (a.keep && !cell)
    throw BadInput("run: --keep is for --parallel and --matrix (a run keeps its lab unless --down)");

  // 4. Run.
  if (a.shard && selected.empty()) {
    // Nothing here, but a report all the same: the merge wants every shard's.
    RunReport report;
    report.lab = run_lab.name;
    report.started_at = utc_now_iso8601();
    report.seed = std::to_string(seed);
    report.shard = shard;
    write_requested_reports(report_files(report), a);
    return 0;
  }
  return run_on_lab(a, graph, selected, run_lab, run_lab_address(a, first, run_lab, env), seed,
                    make_lab_control, env, cell, shard);
}

}  // namespace

int run_command(const std::vector<std::string>& args, const LabControlFactory& make_lab_control,
                const RunEnv& env) {
  try {
    return run_checked(args, make_lab_control, env);
  } catch (const BadInput& e) {
    env.err << "dcslab: " << e.what() << "\n";
    return 2;
  } catch (const Fatal& e) {
    env.err << "dcslab: " << e.what() << "\n";
    return 3;
  }
}

namespace {

// This binary with the global options every lab of `run --parallel` gets (not --lab,
// which run forwards, nor --name and --isolated, which each lab gets its own of).
std::vector<std::string> self_argv(const GlobalOptions& g) {
  std::vector<std::string> self{fs::canonical("/proc/self/exe").string()};
  if (!g.provider.empty()) self.insert(self.end(), {"--provider", g.provider});
  if (!g.suite.empty()) self.insert(self.end(), {"--suite", g.suite});
  if (g.verbose) self.emplace_back("-v");
  return self;
}

}  // namespace

int cmd_run(Context& ctx) {
  const GlobalOptions& g = ctx.global();
  std::vector<std::string> args = ctx.args();
  // run applies --lab, --name and --suite itself, before a matrix's cells apply theirs.
  if (g.lab) args.insert(args.begin(), {"--lab", g.lab->string()});
  if (!g.name.empty()) args.insert(args.begin(), {"--name", g.name});
  if (!g.suite.empty()) args.insert(args.begin(), {"--suite", g.suite});
  UpOptions up;
  up.isolated = g.isolated;
  ConsoleProgress progress;
  RunEnv env{std::cout, std::cerr, progress, RealClock::instance(), self_argv(g), {}, g};
  return run_command(args, [&](const Lab& run_lab) -> std::unique_ptr<LabControl> {
    Lab lab = with_provider_option(run_lab, g);
    if (g.provider.empty()) use_recorded_provider(lab, LabState(dcslab_home(), lab.name));
    return std::make_unique<SshLabControl>(lab, up);
  }, env);
}

}  // namespace dcslab
