// The etcd release archives a lab file brings (image.etcd, lab/lab.h), checked before an
// image is built from them: what the file says it is, it must be, or nothing is built.
#pragma once

#include <string>
#include <vector>

#include "lab/lab.h"

namespace dcslab {

// Throws BadInput naming the lab file's line and key when the archive is missing, its
// SHA-256 differs, it is not a gzip'd tar with the top folder etcd-vX.Y.Z-linux-amd64/
// holding etcd and etcdctl (and etcdutl from 3.5 on; 3.3 and 3.4 releases have none),
// or its etcd (run with --version, as upstream's and Debian's print it) does not say
// "etcd Version: X.Y.Z" of the file name, nor its etcdctl (`version`, or 3.3's
// `--version`) "etcdctl version: X.Y.Z".
void check_etcd_archive(const EtcdArchiveSpec& spec);

// What the archives make of an image, as its manifest and folder name carry it:
// "3.5.30+:<sha256>,3.3.25:<sha256>" ('+' marks the one installed), in the lab file's
// order; "" for none.
std::string etcd_archives_id(const std::vector<EtcdArchiveSpec>& archives);

}  // namespace dcslab
