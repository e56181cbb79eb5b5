// A virtual call through a deleted object: the object's first word (its vtable pointer) is
// read from freed memory. Valgrind: "Invalid read of size 8" 0 bytes inside a freed block of
// size 16 (the call at main), then the call goes through the stale pointer and the program
// prints and exits 0. Under gpa's check mode the freed object holds the fill, which the call
// then follows.
#include <cstdio>

struct Shape {
    virtual ~Shape() {}
    virtual long area() const { return 1; }
    long side = 3;
};

struct Square : Shape {
    long area() const override { return side * side; }
};

int main() {
    Shape *shape = new Square;
    std::printf("area %ld\n", shape->area());
    delete shape;
    std::printf("area %ld\n", shape->area()); // the bug: a call through the deleted object
    return 0;
}
