/* operator new and new[] with --guard-underflow: blocks without a front guard keep their
 * family checks (mismatched delete and delete[]), and a delete[] of a scalar new object of a
 * class with a destructor reads the array cookie 8 bytes before the block (the guard page:
 * two faulting reads, as Valgrind reports them) and passes that address to operator delete[]
 * (an invalid free 8 bytes before the block, which stays allocated). */
#include <cstdio>
#include <new>

struct Counted {
    int value;
    ~Counted() { value = 0; }
};

struct alignas(64) Wide {
    char bytes[100];
};

int main() {
    char *text = new char[10];
    text[0] = 1;
    delete[] text;
    int *number = new int(3);
    delete number;
    char *array = new char[20];
    delete array; // mismatched: new[], delete
    int *scalar = new int(4);
    delete[] scalar; // mismatched: new, delete[]
    Counted *counted = new Counted[3];
    delete[] counted;
    Counted *single = new Counted;
    delete[] single; // reads the cookie before the block, frees 8 bytes before it
    Wide *wide = new Wide;
    delete wide;
    Wide *wides = new Wide[2];
    delete[] wides;
    std::printf("ok\n");
    return 0;
}
