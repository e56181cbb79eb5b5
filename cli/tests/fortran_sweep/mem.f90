! Fortran programs' heap under `gpa run`: the mistakes and the clean uses of gfortran's
! ALLOCATE/DEALLOCATE, written for gpa's Fortran sweep (docs/sweeps/fortran.md). Our own code,
! following the ideas of GCC's gfortran.dg tests: move_alloc.f90, realloc_on_assign_1.f03,
! alloc_comp_basics_1.f90 (derived types with allocatable components), deferred_character_1.f90,
! c_f_pointer_tests.f90 (C interop), the -fcheck=bounds tests; and of Valgrind's advice for
! Fortran pointers (a POINTER is never freed automatically). The first argument names one case
! (one case per run); every case prints "done" unless it ends the program itself.
module cases
  use iso_c_binding
  implicit none
  interface
    function c_malloc(size) bind(c, name="malloc")
      import :: c_ptr, c_size_t
      integer(c_size_t), value :: size
      type(c_ptr) :: c_malloc
    end function
    subroutine c_free(ptr) bind(c, name="free")
      import :: c_ptr
      type(c_ptr), value :: ptr
    end subroutine
  end interface
  type :: node
    integer, pointer :: values(:) => null()
    integer :: tag = 0
  end type
  type :: holder
    integer, allocatable :: values(:)
    character(:), allocatable :: name
  end type
  ! A count the optimiser cannot see through (the accesses past an array's end stay).
  integer, volatile :: n = 10
  integer, pointer :: kept(:) => null()
contains
  ! A POINTER array allocated and its only pointer nullified: definitely lost.
  subroutine pointer_leak()
    integer, pointer :: p(:)
    allocate (p(100))
    p = 7
    print *, sum(p)
    nullify (p)
  end subroutine

  ! DEALLOCATE through a pointer, then again through an alias of it.
  subroutine double_dealloc()
    integer, pointer :: p(:), q(:)
    allocate (p(n))
    p = 1
    q => p
    deallocate (p)
    deallocate (q)
  end subroutine

  ! A read of the target through an alias after DEALLOCATE.
  subroutine read_after_dealloc()
    integer, pointer :: p(:), q(:)
    integer :: total
    allocate (p(n))
    p = 3
    q => p
    deallocate (p)
    total = q(4)
    if (total == 12345) print *, "odd"
  end subroutine

  ! A write to the target through an alias after DEALLOCATE.
  subroutine write_after_dealloc()
    integer, pointer :: p(:), q(:)
    allocate (p(n))
    p = 3
    q => p
    deallocate (p)
    q(2) = 5
  end subroutine

  ! A write one element past an ALLOCATEd array (no -fcheck=bounds).
  subroutine write_past_end()
    integer, allocatable :: a(:)
    integer :: i
    allocate (a(n))
    do i = 1, n + 1
      a(i) = i
    end do
    print *, a(1)
  end subroutine

  ! A read one element past an ALLOCATEd array.
  subroutine read_past_end()
    integer, allocatable :: a(:)
    integer :: total
    allocate (a(n))
    a = 2
    total = a(n + 1)
    if (total == 12345) print *, "odd"
  end subroutine

  ! c_f_pointer over malloc'd memory, freed twice.
  subroutine cptr_double_free()
    type(c_ptr) :: raw
    real(c_double), pointer :: x(:)
    raw = c_malloc(80_c_size_t)
    call c_f_pointer(raw, x, [10])
    x = 1.5d0
    call c_free(c_loc(x))
    call c_free(raw)
  end subroutine

  ! c_f_pointer over malloc'd memory, never freed.
  subroutine cptr_leak()
    type(c_ptr) :: raw
    real(c_double), pointer :: x(:)
    raw = c_malloc(48_c_size_t)
    call c_f_pointer(raw, x, [6])
    x = 2.0d0
    print *, sum(x)
    raw = c_null_ptr
    nullify (x)
  end subroutine

  ! A derived type's pointer component left allocated when its owner is deallocated
  ! (definitely lost), and an owner lost with its component (definitely and indirectly lost).
  subroutine component_leak()
    type(node), pointer :: a, b
    allocate (a)
    allocate (a%values(20))
    a%values = 1
    deallocate (a)
    allocate (b)
    allocate (b%values(30))
    b%values = 2
    print *, sum(b%values)
    nullify (b)
  end subroutine

  ! Allocatables (arrays, a derived type with allocatable components, a deferred-length
  ! string) freed at the end of their scope without any DEALLOCATE.
  subroutine scope_end()
    integer, allocatable :: a(:), b(:, :)
    type(holder) :: h
    type(holder), allocatable :: hs(:)
    integer :: i
    allocate (a(1000), b(30, 40))
    a = 1
    b = 2
    h%values = [1, 2, 3]
    h%name = "holder"
    allocate (hs(5))
    do i = 1, 5
      hs(i)%values = [(i, i=1, 10)]
      hs(i)%name = repeat("x", i)
    end do
    print *, sum(a), sum(b), sum(h%values), h%name, len(hs(5)%name)
  end subroutine

  ! Reallocation on assignment: an array grown one element at a time, shrunk, reshaped.
  subroutine realloc_assign()
    integer, allocatable :: a(:)
    real, allocatable :: m(:, :)
    integer :: i
    a = [integer ::]
    do i = 1, 200
      a = [a, i]
    end do
    a = a(1:50)
    m = reshape([(real(i), i=1, 12)], [3, 4])
    m = transpose(m)
    print *, size(a), sum(a), shape(m), sum(m)
  end subroutine

  ! A deferred-length string grown by concatenation and trimmed.
  subroutine deferred_string()
    character(:), allocatable :: s, t
    integer :: i
    s = ""
    do i = 1, 100
      s = s//"ab"
    end do
    t = s(10:19)
    s = trim(adjustl("   short   "))
    print *, len(t), t, len(s), s
  end subroutine

  ! move_alloc hands the block over without a copy; the source ends deallocated.
  subroutine move_alloc_case()
    integer, allocatable :: a(:), b(:)
    type(holder), allocatable :: x, y
    allocate (a(100))
    a = 4
    call move_alloc(a, b)
    allocate (x)
    x%values = [5, 6]
    call move_alloc(x, y)
    print *, allocated(a), allocated(b), sum(b), allocated(x), sum(y%values)
  end subroutine

  ! I/O: internal writes and reads, a scratch file written and read back, a named file
  ! opened, written, closed and deleted.
  subroutine io_units()
    character(len=64) :: line
    character(:), allocatable :: text
    integer :: unit, i, k, total
    write (line, '(a,i0,a,f6.2)') "value ", 42, " ratio ", 3.25
    read (line(7:8), *) k
    open (newunit=unit, status="scratch", form="formatted")
    do i = 1, 50
      write (unit, *) i
    end do
    rewind (unit)
    total = 0
    do i = 1, 50
      read (unit, *) k
      total = total + k
    end do
    close (unit)
    open (newunit=unit, file="fortran_sweep_io.txt", status="replace", action="write")
    write (unit, '(a)') trim(line)
    close (unit)
    allocate (character(64) :: text)
    open (newunit=unit, file="fortran_sweep_io.txt", status="old", action="read")
    read (unit, '(a)') text
    close (unit, status="delete")
    print *, total, trim(text)
  end subroutine

  ! STOP with allocations still held: a saved allocatable (still reachable) and a pointer
  ! target kept by a module variable (still reachable).
  subroutine stop_case()
    integer, allocatable, save :: held(:)
    allocate (held(64))
    allocate (kept(32))
    held = 1
    kept = 2
    print *, "stopping"
    stop
  end subroutine

  ! ERROR STOP with a code: the program exits with it.
  subroutine error_stop_case()
    integer, allocatable, save :: held(:)
    allocate (held(16))
    held = 1
    print *, "error stopping"
    error stop 3
  end subroutine

  ! An ALLOCATE that cannot be satisfied, with STAT= and ERRMSG=: the program goes on.
  subroutine alloc_failure()
    real(8), allocatable :: huge_array(:)
    integer :: status
    integer(8) :: count
    character(len=80) :: message
    count = 2_8**42
    message = ""
    allocate (huge_array(count), stat=status, errmsg=message)
    print *, status /= 0, allocated(huge_array), trim(message)
  end subroutine

  ! An access past the end caught by -fcheck=bounds: libgfortran reports it and exits 2.
  subroutine bounds_error()
    integer, allocatable :: a(:)
    integer :: i
    allocate (a(n))
    do i = 1, n + 1
      a(i) = i
    end do
    print *, a(1)
  end subroutine

  ! A read one element past an ALLOCATEd array whose size is a multiple of 16 bytes.
  subroutine read_past_aligned()
    integer, allocatable :: a(:)
    integer :: total
    allocate (a(n + 2))
    a = 2
    total = a(n + 3)
    if (total == 12345) print *, "odd"
  end subroutine

  ! DEALLOCATE of an unallocated array without STAT=: libgfortran reports it and exits 2.
  subroutine dealloc_unallocated()
    integer, allocatable :: a(:), b(:)
    allocate (b(8))
    b = 1
    print *, sum(b)
    deallocate (a)
  end subroutine

  ! A store through a disassociated pointer: SIGSEGV, which libgfortran's handler reports
  ! (a backtrace) before the process dies of it.
  subroutine null_store()
    integer, pointer :: p(:)
    integer, allocatable :: held(:)
    allocate (held(4))
    held = 1
    print *, sum(held)
    flush (6)
    p => null()
    p(n - 9) = 1
  end subroutine

  ! Arrays of several MiB reallocated on assignment (grown by doubling, then shrunk) and
  ! array temporaries of the same size.
  subroutine big_growth()
    integer, allocatable :: a(:), b(:)
    integer :: i
    a = [(i, i=1, 1000)]
    do while (size(a) < 4000000)
      a = [a, a]
    end do
    b = a(size(a):1:-1) + a
    a = a(1:size(a) / 3)
    print *, size(a), size(b), b(1), a(size(a))
  end subroutine

  ! A write one element past an array, then the array reallocated on assignment (gfortran's
  ! `realloc` moves or grows the block with the bad byte in it).
  subroutine realloc_after_overflow()
    integer, allocatable :: a(:)
    integer :: i
    allocate (a(n))
    do i = 1, n + 1
      a(i) = i
    end do
    a = [a, 99]
    print *, size(a)
  end subroutine

  ! A write one element past an array shrunk by reallocation on assignment (`realloc` to a
  ! smaller size: the block's old tail is no longer the program's).
  subroutine write_past_shrunk()
    integer, allocatable :: a(:)
    allocate (a(n * 4))
    a = 1
    a = a(1:n)
    a(n + 1) = 3
    print *, size(a)
  end subroutine

  ! A write one element past a 4,000,000-byte array (a block of its own mapping).
  subroutine write_past_big()
    integer, allocatable :: big(:)
    allocate (big(n * 100000))
    big = 1
    big(n * 100000 + 1) = 5
    print *, big(1)
  end subroutine

  ! A formatted internal WRITE of an array after DEALLOCATE: libgfortran reads the freed
  ! block.
  subroutine io_from_freed()
    integer, pointer :: p(:), q(:)
    character(len=200) :: line
    allocate (p(n))
    p = 7
    q => p
    deallocate (p)
    write (line, '(10i4)') q
    if (line(1:1) == "x") print *, "odd"
  end subroutine

  ! A list-directed READ into an array after DEALLOCATE: libgfortran writes the freed block.
  subroutine io_into_freed()
    integer, pointer :: p(:), q(:)
    character(len=200) :: line
    allocate (p(n))
    q => p
    deallocate (p)
    line = "1 2 3 4 5 6 7 8 9 10"
    read (line, *) q
  end subroutine

  ! A deferred-length string written out after DEALLOCATE through a pointer to it.
  subroutine string_from_freed()
    character(len=:), pointer :: s, t
    character(len=200) :: line
    allocate (character(len=30) :: s)
    s = "hello"
    t => s
    deallocate (s)
    write (line, '(a)') t
    if (line(1:1) == "x") print *, "odd"
  end subroutine

  ! An unlimited polymorphic allocatable given an integer, then a string: gfortran 12
  ! `realloc`s its block to 1 byte, then copies the string into, reads and frees the block's
  ! old address (glibc's `realloc` shrinks in place, so the native run goes on unharmed).
  subroutine unlimited_poly()
    class(*), allocatable :: any
    any = 42
    any = "a string"
    select type (any)
    type is (character(*))
      print *, any
    end select
  end subroutine
end module

program mem
  use cases
  implicit none
  character(len=32) :: name
  call get_command_argument(1, name)
  select case (trim(name))
  case ("pointer_leak"); call pointer_leak()
  case ("double_dealloc"); call double_dealloc()
  case ("read_after_dealloc"); call read_after_dealloc()
  case ("write_after_dealloc"); call write_after_dealloc()
  case ("write_past_end"); call write_past_end()
  case ("read_past_end"); call read_past_end()
  case ("cptr_double_free"); call cptr_double_free()
  case ("cptr_leak"); call cptr_leak()
  case ("component_leak"); call component_leak()
  case ("scope_end"); call scope_end()
  case ("realloc_assign"); call realloc_assign()
  case ("deferred_string"); call deferred_string()
  case ("move_alloc"); call move_alloc_case()
  case ("io_units"); call io_units()
  case ("stop"); call stop_case()
  case ("error_stop"); call error_stop_case()
  case ("alloc_failure"); call alloc_failure()
  case ("bounds_error"); call bounds_error()
  case ("read_past_aligned"); call read_past_aligned()
  case ("dealloc_unallocated"); call dealloc_unallocated()
  case ("null_store"); call null_store()
  case ("big_growth"); call big_growth()
  case ("realloc_after_overflow"); call realloc_after_overflow()
  case ("write_past_shrunk"); call write_past_shrunk()
  case ("write_past_big"); call write_past_big()
  case ("io_from_freed"); call io_from_freed()
  case ("io_into_freed"); call io_into_freed()
  case ("string_from_freed"); call string_from_freed()
  case ("unlimited_poly"); call unlimited_poly()
  case default
    print *, "unknown case: ", trim(name)
    error stop 1
  end select
  print *, "done"
end program
