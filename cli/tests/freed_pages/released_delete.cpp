// Beside how2heap glibc_2.36/fastbin_dup.c in C++: an object of 128 bytes deleted, 4,000 more
// of its size deleted (past a checker's quarantine), then the first deleted again ("delete"),
// or the same with arrays of 128 bytes ("array": delete[]).
#include <cstdio>
#include <cstring>

struct Object
{
  char bytes[128];
};

int
main (int argc, char **argv)
{
  const int count = 4000;
  bool array = argc > 1 && std::strcmp (argv[1], "array") == 0;
  if (array)
    {
      char *a = new char[128];
      char **others = new char *[count];
      for (int i = 0; i < count; i++)
        others[i] = new char[128];
      delete[] a;
      for (int i = 0; i < count; i++)
        delete[] others[i];
      delete[] a;                                     // double delete[]
      delete[] others;
    }
  else
    {
      Object *a = new Object;
      Object **others = new Object *[count];
      for (int i = 0; i < count; i++)
        others[i] = new Object;
      delete a;
      for (int i = 0; i < count; i++)
        delete others[i];
      delete a;                                       // double delete
      delete[] others;
    }
  std::puts ("done");
  return 0;
}
