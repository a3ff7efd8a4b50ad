"""Helpers shared by the CUDA C kernels: compiling .cu files once, bfloat16 storage."""
