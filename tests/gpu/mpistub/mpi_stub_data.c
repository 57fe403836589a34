/* Open MPI's predefined objects that tcet's binaries refer to (MPI_COMM_WORLD,
 * MPI_INT, ... are their addresses).  Only the addresses matter to the stub;
 * the sizes are Open MPI 4.1's (nm -S libmpi.so.40), which executables that
 * copy-relocate them expect.  Kept apart from mpi.h, whose declarations of
 * these objects use incomplete types. */
#define OBJ(name, size) __attribute__((aligned(64), visibility("default"))) unsigned char name[size]
OBJ(ompi_mpi_comm_world, 0x200);
OBJ(ompi_mpi_byte, 0x200);
OBJ(ompi_mpi_char, 0x200);
OBJ(ompi_mpi_int, 0x200);
OBJ(ompi_mpi_info_null, 0x100);
OBJ(ompi_request_null, 0x100);
OBJ(ompi_mpi_op_max, 0x800);
OBJ(ompi_mpi_op_min, 0x800);
