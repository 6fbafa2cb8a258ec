// PASS/FAIL reporting shared by the engine's C++ tests: one line per case, counts for main().
#ifndef SDCPP_TEST_REPORT_HPP
#define SDCPP_TEST_REPORT_HPP

#include <cstdio>
#include <string>

namespace test_report {

    inline int g_failures = 0;
    inline int g_passes   = 0;

    inline void report(bool ok, const std::string& name, const std::string& detail = "") {
        if (ok) {
            g_passes++;
        } else {
            g_failures++;
        }
        printf("%s: %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.empty() ? "" : " -- ", detail.c_str());
        fflush(stdout);
    }

    // The summary line and the exit status: the number of failures, capped.
    inline int finish() {
        printf("%s: %d passed, %d failed\n", g_failures == 0 ? "PASS" : "FAIL", g_passes, g_failures);
        return g_failures > 100 ? 100 : g_failures;
    }

}  // namespace test_report

#endif  // SDCPP_TEST_REPORT_HPP
