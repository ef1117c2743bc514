// Where a user's Nova tree comes from when --nova-src is not given. Its own module so the
// doctor can name it without loading the Nova worker's client.
export const NOVA_SRC_ENV = "BOOTPROOF_NOVA_SRC";
