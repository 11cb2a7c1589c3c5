#include "cli/image_command.h"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "base/error.h"
#include "base/paths.h"
#include "base/progress.h"
#include "cli/parse_options.h"
#include "lab/image.h"
#include "lab/lab.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace dcslab {

const char* const kImageHelp = R"(usage: dcslab image build [--suite S] [--force]
       dcslab image list

  build     builds the node image of a Debian suite (or finds it cached: images are
            kept by a hash of images/ and the suite) and prints its folder
    --suite S   bullseye, bookworm, trixie or forky (default: the lab file's suite)
    --force     build again even if cached
            With the lab file's image.etcd (etcd release archives of its own), the
            image packages them as etcd-server/etcd-client X.Y.Z-dcslab1 in the
            node's local repository; each archive is checked first (SHA-256, layout,
            `etcd --version`), and a bad one is refused with exit 2.
  list      the images built, with their etcd versions

Images live in $DCSLAB_HOME/images; the recipes are dcslab's own (images/ of the
installed share/dcslab or of the source tree; $DCSLAB_RECIPE_DIR overrides). Debian's
packages come from the host's own apt sources (its sources.list or deb822 .sources:
the entry for the host's release), or from $DCSLAB_MIRROR, else the lab file's
image.mirror (an http://, https:// or file:// URL) when one is set.
)";

namespace {

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
  // The mirror: DCSLAB_MIRROR (this machine's), else the lab file's image.mirror, else
  // the recipe uses the host's own apt sources.
  if (const char* m = std::getenv("DCSLAB_MIRROR"); m && *m) {
    if (!valid_mirror(m))
      throw BadInput(std::string("DCSLAB_MIRROR: \"") + m +
                     "\" is not a Debian mirror URL (http://, https:// or file://, no spaces)");
    o.mirror = m;
  } else {
    o.mirror = ctx.lab().image.mirror;
  }
  // The lab's own etcd archives, checked by build_image before anything is built.
  o.etcd = ctx.lab().image.etcd;
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
      std::printf("%-10s %s  etcd %s%s  %s\n", i.suite.c_str(), i.hash.c_str(),
                  i.etcd_version.c_str(),
                  i.etcd_archives.empty() ? "" : " (the lab's own archives)", i.dir.c_str());
    return 0;
  }
  bad_usage("image", "image: unknown subcommand \"" + args[0] + "\" (build, list)");
}

}  // namespace dcslab
