! libgomp's thread pool under `gpa run`: parallel loops whose iterations allocate and free
! (private allocatables, a reduction, an array reallocated on assignment inside a task), for
! gpa's Fortran sweep (docs/sweeps/fortran.md); built with -fopenmp. Our own code, following
! the ideas of GCC's libgomp.fortran tests (allocatable private and reduction variables).
! Without an argument: parallel loops, then "done"; with `error_stop`: one thread ends the
! program by ERROR STOP 4 while the others wait in the region, each holding a block; with
! `use_after_free`: each thread reads its own array through an alias after DEALLOCATE (the
! workers' arrays and the master's), then one thread deallocates an array the master allocated.
program omp
  use omp_lib
  implicit none
  integer, allocatable :: work(:), sums(:)
  integer, pointer :: p(:), q(:)
  integer :: i, j, total
  integer, volatile :: ready
  character(len=16) :: name
  call omp_set_num_threads(4)
  call get_command_argument(1, name)
  if (name == "error_stop") then
    ready = 0
    !$omp parallel private(work)
    allocate (work(100 * (omp_get_thread_num() + 1)))
    work = 1
    !$omp atomic
    ready = ready + 1
    if (omp_get_thread_num() == 0) then
      do while (ready < omp_get_num_threads())
      end do
      print *, "stopping with", ready, "threads"
      flush (6)
      error stop 4
    end if
    do while (.true.)
      !$omp flush
    end do
    !$omp end parallel
  end if
  if (name == "use_after_free") then
    ready = 10
    total = 0
    !$omp parallel private(p, q, j) reduction(+:total)
    allocate (p(ready * (omp_get_thread_num() + 1)))
    p = 1
    q => p
    deallocate (p)
    j = q(3)
    if (j == 12345) total = total + 1
    !$omp end parallel
    allocate (work(1000))
    work = total
    !$omp parallel
    !$omp single
    deallocate (work)
    !$omp end single
    !$omp end parallel
    print *, total
    print *, "done"
    stop
  end if
  allocate (sums(64))
  total = 0
  !$omp parallel do private(work, j) reduction(+:total) schedule(dynamic)
  do i = 1, 64
    allocate (work(i * 10))
    do j = 1, size(work)
      work(j) = j
    end do
    sums(i) = sum(work)
    total = total + size(work)
    deallocate (work)
  end do
  !$omp end parallel do
  !$omp parallel private(work)
  work = [integer ::]
  do j = 1, 20
    work = [work, j]
  end do
  !$omp atomic
  total = total + sum(work)
  !$omp end parallel
  print *, sums(64), total
  print *, "done"
end program
