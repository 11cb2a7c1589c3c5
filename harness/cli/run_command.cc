#include "cli/run_command.h"
#include "base/paths.h"

#include <algorithm>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "base/error.h"
#include "lab/fault.h"
#include "base/interrupt.h"
#include "control/lab_ops.h"
#include "run/matrix.h"
#include "run/parallel.h"
#include "base/process.h"
#include "base/redact.h"
#include "report/report_console.h"
#include "report/report_files.h"
#include "run/run_sequence.h"
#include "run/runner.h"
#include "scenario/scenario.h"

namespace fs = std::filesystem;

namespace dcslab {

const char* const kRunUsage = R"(usage: dcslab run [OPTIONS] [SCENARIO.yaml|DIR]...

Runs scenarios (a folder: its *.yaml, sorted; default: scenarios/) on the lab, bringing
it up first if needed. Every file is checked before anything boots. A step's actions:
run, put, get, copy (files from node to node), wait_for_port, wait_for_unit, reboot,
relogin, pki_issue, expect_tls, writer, check_writes, fault (docs/SCENARIOS.md).

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
  --suite S, --name N the lab's Debian suite and name (as dcslab's global options)
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

std::string timestamp_folder() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Every scenario a run may touch, by name, with the ones the user selected in order.
class Catalog {
 public:
  explicit Catalog(std::optional<fs::path> lab) : lab_(std::move(lab)) {}

  const Scenario& add_file(const fs::path& file) {
    const auto key = fs::absolute(file).lexically_normal().string();
    if (auto it = by_file_.find(key); it != by_file_.end()) return scenarios_.at(it->second);
    Scenario sc = load_scenario(file, lab_);
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
    std::vector<std::string> names;
    for (std::size_t i = 0; i < sc.requires_.size(); ++i) {
      const std::string& r = sc.requires_[i];
      if (fs::path(r).is_absolute()) {
        names.push_back(add_file(r).name);
        continue;
      }
      if (!scenarios_.count(r)) {
        for (const auto& f : yaml_in(scenarios_.at(name).file.parent_path().empty()
                                         ? fs::path(".")
                                         : scenarios_.at(name).file.parent_path())) {
          if (f.stem() == r || peek_name(f) == r) {
            add_file(f);
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

  const std::string junit = junit_xml(report), json = json_report(report),
                    transcript = transcript_markdown(report);
  write_text_file(plan.artifacts / "junit.xml", junit);
  write_text_file(plan.artifacts / "report.json", json);
  write_text_file(plan.artifacts / "transcript.md", transcript);
  if (a.junit) write_text_file(*a.junit, junit);
  if (a.json) write_text_file(*a.json, json);
  if (a.transcript) write_text_file(*a.transcript, transcript);
  env.out << "artifacts: " << plan.artifacts.string() << " (each lab's in a folder of its own)\n";
  if (a.keep)
    for (const auto& r : runs)
      env.out << "lab " << r.lab << " kept: dcslab --lab " << plan.lab_file.string() << " --name "
              << r.lab << " ssh " << first.lab.nodes.front().name << "\n";
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
               const Lab& run_lab, std::uint64_t seed, const LabControlFactory& make_lab_control,
               const RunEnv& env) {
  if (a.parallel > 0)
    throw BadInput("run: --matrix and --parallel together: not supported (a matrix runs its cells one after another)");
  const auto dims = parse_matrix_args(a.matrix);
  for (const auto& d : dims)
    if (d.key == "suite" && a.suite)
      throw BadInput("run: --matrix suite=...: the suite is also given by --suite " + *a.suite +
                     " (choose one)");
  const auto cells = matrix_cells(dims);
  std::vector<Lab> labs;  // every cell's lab name checked before anything boots
  for (const auto& c : cells) labs.push_back(apply_cell(run_lab, c));
  const std::string name = run_name(paths);
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
        w == "--artifacts" || w == "--seed") {
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
  const std::string junit = matrix_junit_xml(name, results), json = matrix_json(dims, results);
  std::string transcript;
  for (const auto& r : results)
    if (r.error.empty()) transcript += transcript_markdown(r.report) + "\n";
  write_text_file(dir / "junit.xml", junit);
  write_text_file(dir / "report.json", json);
  write_text_file(dir / "transcript.md", transcript);
  if (a.junit) write_text_file(*a.junit, junit);
  if (a.json) write_text_file(*a.json, json);
  if (a.transcript) write_text_file(*a.transcript, transcript);
  env.out << "artifacts: " << dir.string() << " (each cell's in a folder of its own)\n";
  return matrix_exit_status(results);
}

int run_checked(const std::vector<std::string>& args, const LabControlFactory& make_lab_control,
                const RunEnv& env, MatrixCellResult* cell) {
  const RunArgs a = parse_args(args);
  if (a.help) {
    env.out << kRunUsage;
    return 0;
  }

  // 1. Load and check every file, and everything it requires, before anything boots.
  std::vector<fs::path> paths = a.paths;
  if (paths.empty()) {
    paths.push_back(fs::exists("scenarios") ? fs::path("scenarios")
                                            : data_dir() / "scenarios");
  }
  Catalog catalog(a.lab);
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

  // 2. Select.
  for (const auto& o : a.only)
    if (std::find(given.begin(), given.end(), o) == given.end()) {
      std::string valid;
      for (const auto& g : given) valid += (valid.empty() ? "" : ", ") + g;
      throw BadInput("run: --only: no scenario named \"" + o + "\" (valid: " + valid + ")");
    }
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

  if (a.list) {
    for (const auto& name : selected) {
      const Scenario& sc = catalog.get(name);
      env.out << sc.name << "  (" << sc.steps.size() << " steps, lab " << sc.lab.name << ")";
      if (!sc.tags.empty()) {
        env.out << "  tags:";
        for (const auto& t : sc.tags) env.out << " " << t;
      }
      if (!catalog.requires_of(name).empty()) {
        env.out << "  requires:";
        for (const auto& r : catalog.requires_of(name)) env.out << " " << r;
      }
      if (!sc.from.empty()) env.out << "  from: " << sc.from;
      env.out << "\n    " << sc.file.string();
      if (!sc.description.empty()) {
        const auto nl = sc.description.find('\n');
        env.out << ": " << sc.description.substr(0, nl);
      }
      env.out << "\n";
    }
    return 0;
  }
  if (selected.empty()) throw BadInput("run: no scenario matches --only/--tags");

  // The run order: each scenario after what it requires.
  const ScenarioGraph graph{
      [&](const std::string& n) -> const Scenario& { return catalog.get(n); },
      [&](const std::string& n) -> const std::vector<std::string>& { return catalog.requires_of(n); }};
  const std::vector<std::string> order = run_order(graph, selected);

  // One lab per run: the scenarios' states build on each other.
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

  // The seed first, so even a run that fails to bring the lab up can be replayed.
  const std::uint64_t seed = a.seed ? *a.seed : random_seed();
  env.out << "seed " << seed << ": replay with --seed " << seed << "\n";

  // The lab: the scenarios', with the global --name and --suite, and a matrix cell's values.
  Lab run_lab = first.lab;
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
  // --matrix: the whole run once per cell (each cell comes back here with `cell` set).
  if (!a.matrix.empty()) return run_matrix(a, args, paths, order, run_lab, seed, make_lab_control, env);
  if (cell) run_lab = apply_cell(run_lab, cell->cell);

  // --parallel N: independent scenarios on labs of their own, each a child dcslab.
  if (a.parallel > 0) return run_on_parallel_labs(a, paths, selected, graph, first, run_lab, seed, env);
  if (a.keep && !cell)
    throw BadInput("run: --keep is for --parallel and --matrix (a run keeps its lab unless --down)");
  // A matrix cell's lab goes after its cell unless --keep.
  const bool down = a.down || (cell && !a.keep);

  // 2. The lab.
  std::unique_ptr<LabControl> lab = make_lab_control(run_lab);
  if (auto up = lab->ensure_up(env.progress); !up) {
    env.err << "dcslab: the lab could not come up: " << up.error().message << "\n";
    if (cell) {
      cell->error = "the lab could not come up: " + up.error().message;
      if (down && !lab->down(env.progress)) env.err << "dcslab: lab down failed too\n";
    }
    return 3;
  }

  // 3. Run.
  // Default: beside the lab's state; with --down, which removes that folder, in
  // $DCSLAB_HOME/runs/ so the evidence outlives the lab.
  const fs::path state_dir = lab->state().dir();  // $DCSLAB_HOME/labs/<lab>
  const fs::path artifacts =
      a.artifacts ? *a.artifacts
      : down      ? state_dir.parent_path().parent_path() / "runs" /
                     (lab->lab().name + "-" + timestamp_folder())
                  : state_dir / "runs" / timestamp_folder();
  fs::create_directories(artifacts);
  Redactor redactor;
  ConsoleReporter console(env.out, locale_is_utf8());
  ArtifactsReporter files(artifacts);
  RunnerOptions options;
  options.keep_going = a.keep_going;
  options.artifacts_dir = artifacts;
  options.seed = seed;
  Runner runner(*lab, env.clock, env.progress, redactor, {&console, &files}, options);

  RunReport report;
  report.lab = lab->lab().name;
  report.started_at = utc_now_iso();
  report.seed = std::to_string(seed);
  const auto start = env.clock.now();
  // Each scenario after what it requires, or from its `from:` lab state.
  run_sequence(graph, selected, *lab, runner, env.progress, env.out, report);
  report.seconds = std::chrono::duration<double>(env.clock.now() - start).count();
  console.run_finished(report);

  // 4. Reports: always into the artifacts folder, and where asked.
  const std::string junit = junit_xml(report), json = json_report(report),
                    transcript = transcript_markdown(report);
  write_text_file(artifacts / "junit.xml", junit);
  write_text_file(artifacts / "report.json", json);
  write_text_file(artifacts / "transcript.md", transcript);
  if (a.junit) write_text_file(*a.junit, junit);
  if (a.json) write_text_file(*a.json, json);
  if (a.transcript) write_text_file(*a.transcript, transcript);
  env.out << "artifacts: " << artifacts.string() << "\n";
  if (cell) cell->report = report;

  if (down) {
    if (auto d = lab->down(env.progress); !d) {
      env.err << "dcslab: lab down failed: " << d.error().message << "\n";
      return 3;
    }
    env.out << "lab " << lab->lab().name << " torn down" << (a.down ? " (--down)" : " (matrix cell)") << "\n";
  }
  if (report.infrastructure_failed()) return 3;
  return report.failed() ? 1 : 0;
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

int run_command(const std::vector<std::string>& args, const LabControlFactory& make_lab_control,
                const std::vector<std::string>& self) {
  ConsoleProgress progress;
  RunEnv env{std::cout, std::cerr, progress, RealClock::instance(), self};
  return run_command(args, make_lab_control, env);
}

}  // namespace dcslab
