#pragma once

// CAF 0.17's test framework has no check-with-message: this prints `msg`
// (stream syntax) when `cond` fails, so a failed process test shows what the
// node actually said.

#include <caf/test/unit_test.hpp>

#define MESH_CHECK_MSG(cond, msg)                                              \
  do {                                                                         \
    bool mesh_check_ok_ = static_cast<bool>(cond);                             \
    CAF_CHECK(mesh_check_ok_ && #cond);                                        \
    if (!mesh_check_ok_)                                                       \
      CAF_TEST_PRINT_ERROR(msg);                                               \
  } while (false)
