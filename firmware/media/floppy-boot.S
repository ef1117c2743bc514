# bootproof floppy boot code: prints the NUL-terminated message that follows the code on
# COM1 (polling the UART directly: works with or without a BIOS serial console), then
# INT 18h asks the BIOS to boot the next device in its boot order.
# Lives at offset 0x3e of a FAT12 boot sector (after mkfs.vfat's jump and BPB), so it
# runs at 0x7c3e. The bytes are embedded in floppy.ts (FLOPPY_BOOT_CODE). Rebuild: as --32 -o b.o floppy-boot.S && ld -m elf_i386 -Ttext=0x7c3e --oformat binary -o b.bin b.o
.code16
.globl _start
_start:
  cli
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x7c00, %sp
  sti
  cld
  mov $message, %si
next_char:
  lodsb
  test %al, %al
  jz boot_next
  mov %al, %bl
  mov $0x3fd, %dx
wait_thr_empty:
  in %dx, %al
  test $0x20, %al
  jz wait_thr_empty
  mov $0x3f8, %dx
  mov %bl, %al
  out %al, %dx
  jmp next_char
boot_next:
  int $0x18
halt:
  hlt
  jmp halt
message:
