// English error messages for every zod schema in bootproof. The schemas use zod/mini, whose
// functions tree-shake to a fraction of classic zod (start-up time counts against every boot),
// but zod/mini installs no locale: without this every issue would read just "Invalid input".
// Classic zod installed English itself; every schema module imports this one, so the messages
// users and tests see stay the same ("Too small: expected number to be >=1", ...). Importing
// only `en` keeps the other locales out of the bundle.
// Classic zod also installed its memoizer, which only acts on recursive (z.lazy) schemas; bootproof has none.
import { en } from "zod/locales";
import * as z from "zod/mini";

z.config(en());
