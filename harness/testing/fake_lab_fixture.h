// The world a runner test needs, once: the lab document's lab as a FakeLabControl with a
// private home folder, a fake clock, no progress, a redactor, and a console reporter
// writing into a string. Test fixtures derive from it and add their own helpers.
#pragma once

#include <gtest/gtest.h>
#include "base/paths.h"

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "base/clock.h"
#include "testing/fake_lab.h"
#include "lab/lab.h"
#include "base/progress.h"
#include "base/redact.h"
#include "report/report_console.h"
#include "scenario/scenario.h"

namespace dcslab {

class FakeLabTest : public ::testing::Test {
 protected:
  explicit FakeLabTest(bool console_colour = true) : console_{console_out_, console_colour} {}

  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    home_ = std::filesystem::temp_directory_path() /
            ("dcslab-" + std::string(test->test_suite_name()) + "-" + test->name());
    std::filesystem::remove_all(home_);
    lab_ = std::make_unique<FakeLabControl>(
        load_lab(source_dir() / "fixtures/labs/dcs.yaml"), home_,
        script_);
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  // A scenario file's text, loaded against the fake lab's lab as "t.yaml".
  Scenario parse(const std::string& text) {
    return parse_scenario(text, "t.yaml", [this](const std::string&) {
      return std::make_pair(lab_->lab(), std::filesystem::path("dcs.yaml"));
    });
  }

  std::filesystem::path home_;
  FakeScript script_;
  std::unique_ptr<FakeLabControl> lab_;
  FakeClock clock_;
  NullProgress progress_;
  Redactor redactor_;
  std::ostringstream console_out_;
  ConsoleReporter console_;
};

}  // namespace dcslab
