#include "run_command.h"

#include <algorithm>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "error.h"
#include "redact.h"
#include "report_console.h"
#include "report_files.h"
#include "runner.h"
#include "scenario.h"

namespace fs = std::filesystem;

namespace dcslab {

const char* const kRunUsage = R"(usage: dcslab run [OPTIONS] [SCENARIO.yaml|DIR]...

Runs scenarios (a folder: its *.yaml, sorted; default: scenarios/) on the lab, bringing
it up first if needed. Every file is checked before anything boots.

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

Exit status: 0 all passed, 1 a step failed, 2 bad input, 3 infrastructure failure.
)";

namespace {

struct RunArgs {
  std::vector<fs::path> paths;
  bool list = false, keep_going = false, down = false, help = false;
  std::vector<std::string> only, tags;
  std::optional<fs::path> junit, json, transcript, artifacts, lab;
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

int run_checked(const std::vector<std::string>& args, const LabControlFactory& make_lab_control,
                const RunEnv& env) {
  const RunArgs a = parse_args(args);
  if (a.help) {
    env.out << kRunUsage;
    return 0;
  }

  // 1. Load and check every file, and everything it requires, before anything boots.
  std::vector<fs::path> paths = a.paths;
  if (paths.empty()) {
    paths.push_back(fs::exists("scenarios") ? fs::path("scenarios")
                                            : fs::path(DCSLAB_SOURCE_DIR) / "scenarios");
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
  std::vector<std::string> order;
  std::set<std::string> placed, explicit_set(selected.begin(), selected.end());
  std::function<void(const std::string&)> place = [&](const std::string& n) {
    if (placed.count(n)) return;
    for (const auto& r : catalog.requires_of(n)) place(r);
    placed.insert(n);
    order.push_back(n);
  };
  for (const auto& n : selected) place(n);

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

  // 2. The lab.
  std::unique_ptr<LabControl> lab = make_lab_control(first.lab);
  if (auto up = lab->ensure_up(env.progress); !up) {
    env.err << "dcslab: the lab could not come up: " << up.error().message << "\n";
    return 3;
  }

  // 3. Run.
  // Default: beside the lab's state; with --down, which removes that folder, in
  // $DCSLAB_HOME/runs/ so the evidence outlives the lab.
  const fs::path state_dir = lab->state().dir();  // $DCSLAB_HOME/labs/<lab>
  const fs::path artifacts =
      a.artifacts ? *a.artifacts
      : a.down    ? state_dir.parent_path().parent_path() / "runs" /
                     (first.lab.name + "-" + timestamp_folder())
                  : state_dir / "runs" / timestamp_folder();
  fs::create_directories(artifacts);
  Redactor redactor;
  ConsoleReporter console(env.out, locale_is_utf8());
  ArtifactsReporter files(artifacts);
  RunnerOptions options;
  options.keep_going = a.keep_going;
  Runner runner(*lab, env.clock, env.progress, redactor, {&console, &files}, options);

  RunReport report;
  report.lab = first.lab.name;
  report.started_at = utc_now_iso();
  const auto start = env.clock.now();
  std::map<std::string, bool> outcome;  // name -> passed, for this invocation
  for (const auto& name : order) {
    const Scenario& sc = catalog.get(name);
    std::string blocked;
    for (const auto& r : catalog.requires_of(name))
      if (outcome.count(r) && !outcome[r]) blocked = r;
    if (!blocked.empty()) {
      report.scenarios.push_back(
          runner.not_run(sc, "not run: required scenario \"" + blocked + "\" failed"));
      outcome[name] = false;
      continue;
    }
    // A scenario only required (not selected) is skipped when it already passed on
    // this lab: its state is there.
    if (!explicit_set.count(name) && !lab->state().get("passed:" + name).empty()) {
      env.out << "== " << name << ": already passed on this lab ("
              << lab->state().get("passed:" + name) << "), not run again\n";
      outcome[name] = true;
      continue;
    }
    report.scenarios.push_back(runner.run(sc));
    outcome[name] = report.scenarios.back().passed;
  }
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

  if (a.down) {
    if (auto d = lab->down(env.progress); !d) {
      env.err << "dcslab: lab down failed: " << d.error().message << "\n";
      return 3;
    }
    env.out << "lab " << first.lab.name << " torn down (--down)\n";
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

int run_command(const std::vector<std::string>& args, const LabControlFactory& make_lab_control) {
  ConsoleProgress progress;
  RunEnv env{std::cout, std::cerr, progress, RealClock::instance()};
  return run_command(args, make_lab_control, env);
}

}  // namespace dcslab
