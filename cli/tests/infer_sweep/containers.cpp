// Facebook Infer's Pulse tests of node-based containers and owners
// (infer/tests/codetoanalyze/cpp/pulse/: std_containers.cpp, unique_ptr_destructor.cpp),
// reduced to programs of our own: argv[1] names one case. Values read from freed memory go to a
// volatile sink; every run prints "done".
#include <cstdio>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

static volatile int sunk;
static void sink(int v) { sunk = v; }

// std_containers.cpp: an iterator or a reference to a node kept across the node's erase.
static void list_erase() {
  std::list<int> list = {1, 2, 3};
  auto it = list.begin();
  list.erase(it);
  sink(*it);
}
static void set_erase() {
  std::set<int> set = {1, 2, 3};
  auto it = set.find(1);
  set.erase(it);
  sink(*it);
}
static void multiset_erase() {
  std::multiset<int> set = {1, 1, 2};
  auto it = set.begin();
  set.erase(it);
  sink(*it);
}
static void unordered_set_erase() {
  std::unordered_set<int> set = {1, 2, 3};
  auto it = set.begin();
  set.erase(it);
  sink(*it);
}
static void map_erase_copy() {
  std::map<int, int> map = {{1, 1}, {2, 4}};
  auto it = map.begin();
  auto it2 = it;
  map.erase(it);
  sink(it2->second);
}
static void map_erase_in_loop() {
  std::map<int, int> map = {{1, 0}, {2, 4}, {3, 9}};
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->second == 0)
      map.erase(it);
}
static void unordered_map_erase_in_loop() {
  std::unordered_map<int, int> map = {{1, 0}};
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->second == 0)
      map.erase(it);
}
static void map_erase_reference() {
  std::map<int, int> map = {{1, 1}, {2, 4}};
  auto it = map.find(1);
  const int &value = it->second;
  map.erase(it);
  sink(value);
}
static void map_clear_reference() {
  std::map<int, int> map;
  const int &value = map[1];
  map.clear();
  sink(value);
}
static void list_clear_iterator() {
  std::list<int> list = {1, 2};
  auto it = list.begin();
  list.clear();
  sink(*it);
}
static int &first_reference(std::list<int> &list) { return list.front(); }
static void list_clear_reference() {
  std::list<int> list = {1, 2};
  int &front = first_reference(list);
  list.clear();
  sink(front);
}
static int deref_list_iterator(std::list<int>::iterator it) { return *it; }
static void call_deref_after_erase() {
  std::list<int> list = {1, 2};
  auto it = list.begin();
  list.erase(it);
  sink(deref_list_iterator(it));
}
static void containers_ok() {
  std::map<int, int> map = {{1, 0}, {2, 4}};
  for (auto it = map.begin(); it != map.end();)
    if (it->second == 0)
      it = map.erase(it);
    else
      ++it;
  std::set<int> set = {0, 1, 2};
  for (auto it = set.begin(); it != set.end();)
    if (*it == 0)
      set.erase(it++);
    else
      ++it;
  std::list<int *> pointers = {new int(1), new int(2)};
  for (int *p : pointers)
    delete p;
  std::unordered_map<int, int> hashed;
  const int &value = hashed[1];
  for (int i = 2; i < 64; i++)
    hashed[i] = i;
  sink(value);
  std::list<int> list = {1};
  auto it = list.begin();
  list.push_back(1);
  list.push_front(2);
  sink(*it);
  std::deque<int> deque = {1};
  const int &front = deque.front();
  for (int i = 0; i < 1000; i++)
    deque.push_back(i);
  sink(front);
  std::list<int> cleared;
  auto end = cleared.end();
  cleared.clear();
  cleared.push_back(1);
  --end;
  sink(*end);
}

// unique_ptr_destructor.cpp
struct X {
  int field;
  int *pointer_field;
  X() : field(0) { pointer_field = new int; }
  ~X() { delete pointer_field; }
};
struct Y {
  X *pointer_field;
  void leak() { pointer_field = new X(); }
  Y() { pointer_field = new X(); }
  ~Y() { delete pointer_field; }
};
static void heap_owner_deleted() {
  auto p = new int(5);
  auto x = new std::unique_ptr<int>(p);
  delete x;
  sink(*p);
}
static void owner_scope_ended() {
  auto p = new X();
  { std::unique_ptr<X> x(p); }
  sink(p->field);
}
static void member_overwritten() {
  auto x = std::unique_ptr<Y>(new Y());
  x->leak();
}
static void member_overwritten_reset() {
  auto x = std::unique_ptr<Y>(new Y());
  x->leak();
  x.reset();
}
static void owners_ok() {
  delete new std::unique_ptr<int>(new int(5));
  { std::unique_ptr<int>(new int(5)); }
  delete new std::unique_ptr<X>(new X());
  delete new std::unique_ptr<Y>(new Y());
  auto y = std::unique_ptr<Y>(new Y());
  y.reset(new Y());
  y.reset();
}

struct Case {
  const char *name;
  void (*run)();
};
static const Case cases[] = {
    {"list_erase", list_erase},
    {"set_erase", set_erase},
    {"multiset_erase", multiset_erase},
    {"unordered_set_erase", unordered_set_erase},
    {"map_erase_copy", map_erase_copy},
    {"map_erase_in_loop", map_erase_in_loop},
    {"unordered_map_erase_in_loop", unordered_map_erase_in_loop},
    {"map_erase_reference", map_erase_reference},
    {"map_clear_reference", map_clear_reference},
    {"list_clear_iterator", list_clear_iterator},
    {"list_clear_reference", list_clear_reference},
    {"call_deref_after_erase", call_deref_after_erase},
    {"containers_ok", containers_ok},
    {"heap_owner_deleted", heap_owner_deleted},
    {"owner_scope_ended", owner_scope_ended},
    {"member_overwritten", member_overwritten},
    {"member_overwritten_reset", member_overwritten_reset},
    {"owners_ok", owners_ok},
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
