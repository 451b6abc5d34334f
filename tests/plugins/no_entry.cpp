// A shared library that is not a Mesh plug-in: it has no entry point.
extern "C" int some_other_function() {
  return 1;
}
