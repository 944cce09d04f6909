// posenc_catalogue_dump NAME OUTDIR [field=value ...]: the C++ catalogue's arrays for one entry
// as OUTDIR/<array>.npy (values parsed as the command line will). The Python tests compare
// posenc.encode() with these files.
#include <filesystem>
#include <iostream>
#include <map>

#include "posenc/catalogue.hpp"
#include "posenc/npy.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: posenc_catalogue_dump NAME OUTDIR [field=value ...]\n";
    return 2;
  }
  try {
    std::map<std::string, std::string> text;
    for (int i = 3; i < argc; ++i) {
      const std::string a = argv[i];
      const auto eq = a.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("argument '" + a + "' must be field=value");
      text[a.substr(0, eq)] = a.substr(eq + 1);
    }
    const auto built = posenc::catalogue::build(argv[1], posenc::catalogue::parse(argv[1], text));
    std::filesystem::create_directories(argv[2]);
    for (const auto& [stem, a] : built.arrays)
      std::visit([&, s = stem](const auto& t) { posenc::save_npy((std::filesystem::path(argv[2]) / (s + ".npy")).string(), t); }, a);
  } catch (const std::exception& e) {
    std::cerr << "posenc_catalogue_dump: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
