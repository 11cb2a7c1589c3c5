// `dcslab run --matrix KEY=V1,V2 ...`: the same scenarios once per cell, each cell on a
// lab of its own. A dimension is a key and its values; the cells are the product of the
// dimensions, in the order given (the first dimension varies slowest). Each cell's lab
// is the lab file's with the cell applied and its name suffixed with the cell's values
// (dcs -> dcs-trixie), so the cells' state, networks and namespaces never collide.
//
// Planning is pure (no lab, no file): plan_matrix() checks the arguments and returns the
// cells; apply_cell() makes a cell's lab. The matrix's reports are built here too: the
// console table (scenarios by cells) and a JUnit file with one testsuite per cell.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lab/lab.h"
#include "report/report_model.h"

namespace dcslab {

struct MatrixDimension {
  std::string key;                  // suite
  std::vector<std::string> values;  // bookworm, trixie
};

struct MatrixCell {
  std::vector<std::pair<std::string, std::string>> values;  // one per dimension, in order
  // "suite=trixie" (dimensions joined with ',').
  std::string label() const;
  // "trixie" (values joined with '-'): the lab name's suffix.
  std::string suffix() const;
};

// The dimensions that exist, and the values each accepts.
std::vector<MatrixDimension> known_matrix_dimensions();

// Parses each `--matrix` argument ("suite=bookworm,trixie") into a dimension. Throws
// BadInput naming the argument: not KEY=VALUES, an unknown dimension, an empty or
// unknown value, a value listed twice, a dimension given twice.
std::vector<MatrixDimension> parse_matrix_args(const std::vector<std::string>& args);

// The cells: the product of the dimensions (none: no cell).
std::vector<MatrixCell> matrix_cells(const std::vector<MatrixDimension>& dimensions);

// `lab` with the cell applied (suite=S sets image.suite) and named
// "<lab>-<cell suffix>". Throws BadInput when that name is not a valid lab name (too
// long: lab names are at most 32 characters).
Lab apply_cell(const Lab& lab, const MatrixCell& cell);

// One cell's outcome as run_command saw it: the report (empty when the lab could not
// come up) and why the cell did not run.
struct MatrixCellResult {
  MatrixCell cell;
  std::string lab;          // the cell's lab name
  RunReport report;
  std::string error;        // the lab could not come up, ...; "" if it ran
  int exit_status = 0;      // as a plain run would have exited
};

// A scenario's outcome in one cell: "passed", "failed", "skipped" (every step skipped
// by its `when:`), "not run" (a required scenario failed, or the cell's lab did not
// come up).
std::string scenario_outcome(const ScenarioResult& s);

// The console table: a row per scenario (in the order they first ran), a column per
// cell, then a row with each cell's lab and time.
std::string matrix_table(const std::vector<std::string>& scenarios,
                         const std::vector<MatrixCellResult>& cells);

// JUnit XML with one <testsuite> per cell, named "<name>[<cell label>]" (e.g.
// "seed[suite=trixie]"), holding every testcase of that cell (classname: the scenario).
// A cell that did not run is a testsuite with one <error>.
std::string matrix_junit_xml(const std::string& name, const std::vector<MatrixCellResult>& cells);

// JSON: {"name", "matrix": [{key, values}], "cells": [{cell: {k: v}, label, lab, exit,
// error?, report}], "seed"?, "shard"?: a shard's (run --shard: the cells' labels)}.
std::string matrix_json(const std::vector<MatrixDimension>& dimensions,
                        const std::vector<MatrixCellResult>& cells, const std::string& name = "",
                        const ShardInfo& shard = {}, const std::string& seed = "");

// The run's exit status: the worst cell's (3 infrastructure failure or a lab that did
// not come up, 1 a failed step, 0 all passed).
int matrix_exit_status(const std::vector<MatrixCellResult>& cells);

}  // namespace dcslab
