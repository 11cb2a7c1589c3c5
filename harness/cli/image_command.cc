#include "cli/image_command.h"

#include <cstdio>
#include <set>

#include "base/paths.h"
#include "base/progress.h"
#include "cli/parse_options.h"
#include "lab/image.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace dcslab {

const char* const kImageHelp = R"(usage: dcslab image build [--suite S] [--force]
       dcslab image list

  build     builds the node image of a Debian suite (or finds it cached: images are
            kept by a hash of images/ and the suite) and prints its folder
    --suite S   bullseye, bookworm, trixie or forky (default: the lab file's suite)
    --force     build again even if cached
  list      the images built, with their etcd versions

Images live in $DCSLAB_HOME/images; recipes are images/ of the source tree (or
$DCSLAB_RECIPE_DIR).
)";

namespace {

fs::path recipe_dir() {
  if (const char* d = std::getenv("DCSLAB_RECIPE_DIR"); d && *d) return d;
  if (fs::exists("images/build-rootfs")) return "images";
  return data_dir() / "images";
}

int build(Context& ctx, const std::vector<std::string>& args) {
  ImageBuildOptions o;
  po::options_description opts;
  opts.add_options()("force", po::bool_switch(&o.force));
  if (!parse_options("image build", args, opts).empty())
    bad_usage("image", "image build: no arguments expected");
  // The suite: --suite, else the lab file's.
  o.suite = !ctx.global().suite.empty() ? ctx.global().suite : ctx.lab().image.suite;
  static const std::set<std::string> suites = {"bullseye", "bookworm", "trixie", "forky"};
  if (!suites.count(o.suite))
    bad_usage("image", "image build: unknown suite \"" + o.suite + "\" (bullseye, bookworm, trixie, forky)");
  o.recipe_dir = recipe_dir();
  o.home = dcslab_home();
  ConsoleProgress progress;
  const Image image = build_image(o, progress);
  std::printf("%s\n", image.dir.c_str());
  return 0;
}

}  // namespace

int cmd_image(Context& ctx) {
  const auto& args = ctx.args();
  if (args.empty()) bad_usage("image", "image: expected build or list");
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "build") return build(ctx, rest);
  if (args[0] == "list") {
    if (!rest.empty()) bad_usage("image", "image list: no arguments expected");
    for (const auto& i : list_images(dcslab_home()))
      std::printf("%-10s %s  etcd %s  %s\n", i.suite.c_str(), i.hash.c_str(),
                  i.etcd_version.c_str(), i.dir.c_str());
    return 0;
  }
  bad_usage("image", "image: unknown subcommand \"" + args[0] + "\" (build, list)");
}

}  // namespace dcslab
