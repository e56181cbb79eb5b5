// Facebook Infer's Pulse tests (infer/tests/codetoanalyze/cpp/pulse/: vector.cpp,
// vector_iterator.cpp, basic_string.cpp, use_after_delete.cpp, use_after_destructor.cpp,
// temporaries.cpp, leaks.cpp, unique_ptr_deref.cpp, unique_ptr_deleter.cpp,
// shared_ptr_deleter.cpp, placement_new.cpp), the functions that do something at run time
// reduced to programs of our own: argv[1] names one case. Values read from freed memory go to a
// volatile sink, never to the output: every run prints "done".
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

static void keep(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static volatile int sunk;
static void sink(int v) { sunk = v; }
static const char *const LONG = "a string longer than fifteen";

// vector.cpp: references into a vector kept across a call that moves its buffer.
static void vector_push_back() {
  std::vector<int> vec = {1, 2};
  int *elt = &vec[1];
  vec.push_back(42);
  sink(*elt);
}
static void vector_at_push_back() {
  std::vector<int> *vec = new std::vector<int>{1, 2};
  int *elt = &vec->at(1);
  vec->push_back(42);
  sink(*elt);
  delete vec;
}
static void vector_reserve_too_small() {
  std::vector<int> vec;
  vec.reserve(1);
  vec.push_back(32);
  int *elt = &vec[0];
  vec.push_back(52);
  sink(*elt);
}
static void vector_push_back_loop() {
  std::vector<int> other = {3, 4, 5};
  std::vector<int> vec(2);
  int *elt = &vec[1];
  for (const auto &i : other)
    vec.push_back(i);
  sink(*elt);
}
static void vector_reserve() {
  std::vector<int> vec = {1, 2};
  int *elt = &vec[1];
  vec.reserve(vec.size() + 1);
  sink(*elt);
}
static void vector_assign() {
  std::vector<int> vec = {1, 2};
  int *elt = &vec[1];
  vec.assign(11, 7);
  sink(*elt);
}
static void vector_shrink_to_fit() {
  std::vector<int> vec;
  vec.reserve(8);
  vec.push_back(1);
  vec.push_back(2);
  int *elt = &vec[1];
  vec.shrink_to_fit();
  sink(*elt);
}
static void vector_insert() {
  std::vector<int> vec = {1, 2};
  int *elt = &vec[1];
  vec.insert(vec.begin(), 7);
  sink(*elt);
}
static void vector_emplace_back() {
  std::vector<int> vec = {1, 2};
  int *elt = &vec[1];
  vec.emplace_back(7);
  sink(*elt);
}
static void vector_resize() {
  std::vector<int> vec = {1, 2};
  int *elt = &vec[1];
  vec.resize(vec.size() * 2);
  sink(*elt);
}
static void vector_front_push_back() {
  std::vector<int> vec = {1, 2};
  int &elt = vec.front();
  vec.push_back(42);
  sink(elt);
}
static void vector_data_push_back() {
  std::vector<int> vec = {1, 2};
  int *elts = vec.data();
  vec.push_back(42);
  sink(elts[1]);
}
// Infer reports these (the standard invalidates the references), but the buffer stays.
static void vector_clear_keeps_buffer() {
  std::vector<int> vec = {1, 2};
  int *elt = &vec[1];
  vec.clear();
  sink(*elt);
}
static void vector_erase_keeps_buffer() {
  std::vector<int> vec = {1, 2};
  int *elt = &vec[1];
  vec.erase(vec.begin());
  sink(*elt);
}
static void vector_ok() {
  std::vector<int> vec = {1, 2};
  vec.reserve(vec.size() + 1);
  int *elt = &vec[1];
  vec.push_back(42);
  sink(*elt);
  vec.reserve(vec.size() * 2);
  elt = &vec[1];
  vec.resize(vec.size() * 2, 7);
  sink(*elt);
  std::vector<int> shrink;
  shrink.resize(10);
  int *elts = shrink.data();
  shrink.resize(5);
  sink(elts[0]);
  vec.push_back(vec.front());
  int x = vec[0];
  vec.push_back(7);
  sink(x);
}

// vector_iterator.cpp
static void iterator_emplace() {
  std::vector<int> vec = {1, 2};
  auto iter = vec.begin();
  vec.emplace(iter, 4);
  sink(*iter);
}
static void iterator_after_push_back_loop() {
  std::vector<int> other = {3, 4, 5};
  std::vector<int> vec(2);
  auto iter_begin = vec.begin();
  auto iter_end = vec.end();
  for (const auto &i : other)
    vec.push_back(i);
  int sum = 0;
  for (auto iter = iter_begin; iter != iter_end; ++iter)
    sum += *iter;
  sink(sum);
}
static void iterator_end_read() {
  std::vector<int> vec = {1, 2};
  auto iter = vec.end();
  sink(*iter);
}
static void iterator_erase_then_push_back() {
  std::vector<int> vec = {1, 2, 3};
  auto iter = vec.erase(vec.begin());
  vec.push_back(4);
  vec.push_back(5);
  sink(*iter);
}
static void iterator_ok() {
  std::vector<int> vec = {1, 2};
  auto iter = vec.begin();
  vec.emplace(iter, 4);
  auto another = vec.begin();
  sink(*another);
  ++another;
  sink(*another);
  iter = vec.insert(vec.begin(), 4);
  sink(*iter);
  iter = vec.begin();
  vec.push_back(4);
  iter = vec.begin();
  sink(*iter);
  for (auto it = vec.begin(); it != vec.end();) {
    if (*it == 4)
      it = vec.erase(it);
    else
      ++it;
  }
  auto end = vec.end();
  sink(*(--end));
}

// basic_string.cpp: pointers into a string's heap buffer (longer than the 15 bytes kept inside
// the object) kept across a call that moves the buffer.
static std::string make_string() { return std::string(LONG); }
static void string_c_str_temporary() {
  const char *p = make_string().c_str();
  sink(strlen(p));
}
static void string_c_str_after_scope() {
  const char *p;
  {
    std::string s(LONG);
    p = s.c_str();
  }
  sink(*p);
}
static const char *c_str_of_local() {
  std::string s(LONG);
  return s.c_str();
}
static void string_c_str_of_local() { sink(*c_str_of_local()); }
static void string_data_append() {
  std::string s(LONG);
  const char *p = s.data();
  s.append(1000, 'x');
  sink(*p);
}
static void string_c_str_push_back() {
  std::string s(LONG);
  const char *p = s.c_str();
  s.push_back('x');
  sink(*p);
}
static void string_c_str_assign() {
  std::string s(LONG);
  std::string t(100, 't');
  const char *p = s.c_str();
  s = t;
  sink(*p);
}
static void string_c_str_reserve() {
  std::string s(LONG);
  const char *p = s.c_str();
  s.reserve(1000);
  sink(*p);
}
static void string_begin_append() {
  std::string s(LONG);
  auto it = s.begin();
  s.append(1000, 'x');
  sink(*it);
}
static void string_begin_after_scope() {
  std::string::iterator it;
  {
    std::string s(LONG);
    it = s.begin();
  }
  sink(*it);
}
static void string_subscript_append() {
  std::string s(LONG);
  const char *p = &s[0];
  s.append(1000, 'x');
  sink(*p);
}
static void string_ok() {
  std::string s(LONG);
  s.append(1000, 'x');
  const char *p = s.c_str();
  sink(*p);
  sink(strlen(make_string().c_str()));
  const std::string &extended = make_string();
  sink(strlen(extended.c_str()));
  std::string *t;
  {
    std::string local(LONG);
    t = new std::string(local.data(), local.size());
  }
  sink((*t)[3]);
  delete t;
  std::string crlf("one line\nand another line\n");
  for (auto it = crlf.begin(); it != crlf.end(); ++it)
    if (*it == '\n') {
      it = crlf.insert(it, '\r');
      ++it;
    }
  for (auto it = crlf.begin(); it != crlf.end();)
    if (*it == '\r')
      it = crlf.erase(it);
    else
      ++it;
  sink(crlf.size());
}

// use_after_delete.cpp
struct Simple {
  int f;
};
static void deref_deleted() {
  auto *s = new Simple{1};
  keep(s);
  delete s;
  keep(s);
  Simple tmp = *s;
  sink(tmp.f);
}
static void field_of_deleted() {
  auto *s = new Simple{1};
  keep(s);
  delete s;
  keep(s);
  s->f = 7;
}
static void double_delete() {
  auto *s = new Simple{1};
  keep(s);
  delete s;
  keep(s);
  delete s;
}
static void delete_in_loop() {
  auto *s = new Simple{1};
  for (int i = 0; i < 10; i++) {
    keep(s);
    delete s;
  }
}
static void use_in_loop() {
  auto *s = new Simple{1};
  keep(s);
  delete s;
  for (int i = 0; i < 10; i++) {
    keep(s);
    s->f = i;
  }
}
struct Nested {
  Simple s;
  int g;
};
static void field_pointer_after_delete() {
  auto *x = new Nested();
  int *p = &x->g;
  delete x;
  keep(p);
  *p = 42;
}
static void delete_ok() {
  for (int i = 0; i < 10; i++) {
    auto *s = new Simple{1};
    keep(s);
    delete s;
  }
  auto *s = new Simple{1};
  keep(s);
  delete s;
  s = new Simple{2};
  s->f = 7;
  keep(s);
  delete s;
}

// use_after_destructor.cpp: a class that owns a heap int and has no operator=.
struct S {
  int *f;
  S(int i) {
    f = new int;
    *f = i;
  }
  ~S() { delete f; }
  void reinit(S s) {
    f = new int;
    *f = *(s.f);
  }
};
static void double_destructor() {
  S s(1);
  s.~S();
}
static void use_after_destructor() {
  S s(1);
  s.~S();
  int ret = *s.f;
  s = S{2};
  sink(ret);
}
static void copy_assign_then_scope() {
  S s(1);
  {
    S tmp(2);
    s = tmp;
  }
}
static void placement_new_aliasing() {
  S *s = new S(1);
  s->~S();
  auto alias = new (s) S(2);
  delete alias;
  keep(s);
  sink(*(volatile char *)&s->f);
}
static void destructor_ok() {
  { S s(1); }
  S s(1);
  s.~S();
  s.reinit(S(2));
  sink(*s.f);
  alignas(S) char buf[sizeof(S)];
  S *p = new (buf) S(1);
  p->~S();
  p = new (buf) S(2);
  p->~S();
  struct M {
    S *s;
  } m;
  m.s = new S(1);
  m.s->~S();
  new (m.s) S(2);
  delete m.s;
}

// temporaries.cpp: a hand-written unique pointer returned by value.
template <typename X> struct UniquePtr {
  X *x_;
  ~UniquePtr() { delete x_; }
  UniquePtr(X *y) { x_ = y; }
  UniquePtr(UniquePtr<X> &p) = delete;
  UniquePtr(UniquePtr<X> &&p) {
    x_ = p.get();
    p.x_ = nullptr;
  }
  X *get() const { return x_; }
  X *operator->() const { return get(); }
};
struct A {
  int s_;
  A() { s_ = 42; }
};
static UniquePtr<A> mk_UniquePtr_A() { return UniquePtr<A>(new A); }
static void temporary_unique_ptr_get() {
  A *a = mk_UniquePtr_A().get();
  keep(a);
  sink(a->s_);
}
static void temporaries_ok() {
  const UniquePtr<A> &local = mk_UniquePtr_A();
  sink(local->s_);
  A a = *mk_UniquePtr_A().get();
  sink(a.s_);
}

// leaks.cpp and unique_ptr_deref.cpp: leaks.
struct X {
  int i;
  ~X() {}
};
struct Owning {
  int field;
  int *pointer_field;
  Owning() { pointer_field = new int; }
  ~Owning() { delete pointer_field; }
};
static void simple_new() {
  X *x = new X;
  keep(x);
}
static void simple_new_array() {
  X *x = new X[5];
  keep(x);
}
static void new_array_delete() {
  X *x = new X[5];
  keep(x);
  delete x;
}
static void unique_ptr_pointer() {
  auto *heap = new UniquePtr<X>(new X);
  keep(heap);
}
static void unique_ptr_release() {
  std::unique_ptr<Owning> x(new Owning());
  keep(x.release());
}
static void make_unique_release() {
  std::unique_ptr<Owning> x = std::make_unique<Owning>();
  keep(x.release());
}
template <class T> struct NoDelete {
  using pointer = T *;
  void operator()(pointer) const {}
};
static void leaky_unique_ptr() { std::unique_ptr<Owning, NoDelete<Owning>> p(new Owning()); }
static void leaks_ok() {
  X *x = new X;
  keep(x);
  delete x;
  x = new X;
  X *y = new (x) X();
  delete y;
  X *a = new X[5];
  keep(a);
  delete[] a;
  UniquePtr<X> on_stack{new X};
  const UniquePtr<X> &ref{new X};
  std::unique_ptr<Owning> u(new Owning());
  sink(u->field = 1);
  std::unique_ptr<int> r(new int);
  r.reset();
  r.reset(new int);
  std::unique_ptr<int> moved = std::move(r);
  *moved = 3;
}

// unique_ptr_deleter.cpp and shared_ptr_deleter.cpp: deleters.
static void unique_noop_lambda() {
  auto keep_it = [](int *) {};
  std::unique_ptr<int, decltype(keep_it)> p(new int(1), keep_it);
}
static void unique_reference_deleter_use() {
  int *raw = new int(1);
  {
    auto destroy = [](int *const &p) { delete p; };
    std::unique_ptr<int, decltype(destroy)> p(raw, destroy);
  }
  keep(raw);
  sink(*raw);
}
struct DeleteDeleter {
  void operator()(int *p) const { delete p; }
};
static void unique_delete_deleter_use() {
  int *raw = new int(1);
  { std::unique_ptr<int, DeleteDeleter> p(raw); }
  keep(raw);
  sink(*raw);
}
static void unique_file_release(const char *path) {
  std::unique_ptr<FILE, decltype(&fclose)> f(fopen(path, "r"), fclose);
  keep(f.release());
}
static void unique_file_release_self() { unique_file_release("/proc/self/cmdline"); }
static void shared_noop_lambda() { std::shared_ptr<int> p(new int(1), [](int *) {}); }
static void shared_close_twice() {
  if (FILE *file = fopen("/proc/self/cmdline", "r")) {
    std::shared_ptr<FILE> f(file, fclose);
    fclose(f.get());
  }
}
struct FreeDeleter {
  template <typename T> void operator()(T *p) const { free(p); }
};
static void deleters_ok() {
  std::unique_ptr<int, decltype(&free)> a((int *)malloc(sizeof(int)), free);
  std::unique_ptr<int, FreeDeleter> b((int *)malloc(sizeof(int)));
  auto release = [](char *const &p) { free(p); };
  std::unique_ptr<char, decltype(release)> c((char *)malloc(1), release);
  std::unique_ptr<int, DeleteDeleter> d(new int(1));
  std::unique_ptr<int, std::function<void(int *)>> e(new int(1), [](int *p) { delete p; });
  std::shared_ptr<int> g((int *)malloc(sizeof(int)), free);
  std::shared_ptr<int> h((int *)malloc(sizeof(int)), FreeDeleter());
  std::shared_ptr<char> i((char *)malloc(1), [](char *const &p) { free(p); });
  int x = 0;
  { std::shared_ptr<int> j(&x, [](int *) {}); }
  if (FILE *file = fopen("/proc/self/cmdline", "r")) {
    std::shared_ptr<FILE> k(file, fclose);
    std::shared_ptr<FILE> l = k;
    sink(fgetc(l.get()));
  }
  std::unique_ptr<FILE, decltype(&fclose)> m(fopen("/proc/self/cmdline", "r"), fclose);
  std::unique_ptr<FILE, decltype(&fclose)> n = std::move(m);
  sink(fgetc(n.get()));
}

// placement_new.cpp: a placement new on storage that is then deleted.
enum class Tag {};
struct P {
  int f;
  P() : f(0) {}
};
void *operator new(std::size_t, Tag, void *p) { return p; }
struct ListNode {
  ListNode *next;
  int v;
};
static void placement_storage_deleted() {
  P *s = new P();
  P *alias = new (Tag{}, s) P();
  delete s;
  keep(alias);
  alias->f = 1;
}
static void placement_ok() {
  P *s = new P();
  P *alias = new (Tag{}, s) P();
  alias->f = 1;
  delete s;
  ListNode *node = new (malloc(sizeof(ListNode))) ListNode{nullptr, 1};
  sink(node->v);
  free(node);
}

struct Case {
  const char *name;
  void (*run)();
};
static const Case cases[] = {
    {"vector_push_back", vector_push_back},
    {"vector_at_push_back", vector_at_push_back},
    {"vector_reserve_too_small", vector_reserve_too_small},
    {"vector_push_back_loop", vector_push_back_loop},
    {"vector_reserve", vector_reserve},
    {"vector_assign", vector_assign},
    {"vector_shrink_to_fit", vector_shrink_to_fit},
    {"vector_insert", vector_insert},
    {"vector_emplace_back", vector_emplace_back},
    {"vector_resize", vector_resize},
    {"vector_front_push_back", vector_front_push_back},
    {"vector_data_push_back", vector_data_push_back},
    {"vector_clear_keeps_buffer", vector_clear_keeps_buffer},
    {"vector_erase_keeps_buffer", vector_erase_keeps_buffer},
    {"vector_ok", vector_ok},
    {"iterator_emplace", iterator_emplace},
    {"iterator_after_push_back_loop", iterator_after_push_back_loop},
    {"iterator_end_read", iterator_end_read},
    {"iterator_erase_then_push_back", iterator_erase_then_push_back},
    {"iterator_ok", iterator_ok},
    {"string_c_str_temporary", string_c_str_temporary},
    {"string_c_str_after_scope", string_c_str_after_scope},
    {"string_c_str_of_local", string_c_str_of_local},
    {"string_data_append", string_data_append},
    {"string_c_str_push_back", string_c_str_push_back},
    {"string_c_str_assign", string_c_str_assign},
    {"string_c_str_reserve", string_c_str_reserve},
    {"string_begin_append", string_begin_append},
    {"string_begin_after_scope", string_begin_after_scope},
    {"string_subscript_append", string_subscript_append},
    {"string_ok", string_ok},
    {"deref_deleted", deref_deleted},
    {"field_of_deleted", field_of_deleted},
    {"double_delete", double_delete},
    {"delete_in_loop", delete_in_loop},
    {"use_in_loop", use_in_loop},
    {"field_pointer_after_delete", field_pointer_after_delete},
    {"delete_ok", delete_ok},
    {"double_destructor", double_destructor},
    {"use_after_destructor", use_after_destructor},
    {"copy_assign_then_scope", copy_assign_then_scope},
    {"placement_new_aliasing", placement_new_aliasing},
    {"destructor_ok", destructor_ok},
    {"temporary_unique_ptr_get", temporary_unique_ptr_get},
    {"temporaries_ok", temporaries_ok},
    {"simple_new", simple_new},
    {"simple_new_array", simple_new_array},
    {"new_array_delete", new_array_delete},
    {"unique_ptr_pointer", unique_ptr_pointer},
    {"unique_ptr_release", unique_ptr_release},
    {"make_unique_release", make_unique_release},
    {"leaky_unique_ptr", leaky_unique_ptr},
    {"leaks_ok", leaks_ok},
    {"unique_noop_lambda", unique_noop_lambda},
    {"unique_reference_deleter_use", unique_reference_deleter_use},
    {"unique_delete_deleter_use", unique_delete_deleter_use},
    {"unique_file_release", unique_file_release_self},
    {"shared_noop_lambda", shared_noop_lambda},
    {"shared_close_twice", shared_close_twice},
    {"deleters_ok", deleters_ok},
    {"placement_storage_deleted", placement_storage_deleted},
    {"placement_ok", placement_ok},
};

int main(int argc, char **argv) {
  for (const Case &c : cases)
    if (argc > 1 && strcmp(argv[1], c.name) == 0) {
      c.run();
      puts("done");
      return 0;
    }
  for (const Case &c : cases)
    puts(c.name);
  return 2;
}
