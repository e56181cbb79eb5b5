! libgomp's thread pool under `gpa run`: parallel loops whose iterations allocate and free
! (private allocatables, a reduction, an array reallocated on assignment inside a task), for
! gpa's Fortran sweep (docs/sweeps/fortran.md); built with -fopenmp. Our own code, following
! the ideas of GCC's libgomp.fortran tests (allocatable private and reduction variables).
! Without an argument: parallel loops, then "done"; with `error_stop`: one thread ends the
! program by ERROR STOP 4 while the others wait in the region, each holding a block.
program omp
  use omp_lib
  implicit none
  integer, allocatable :: work(:), sums(:)
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
