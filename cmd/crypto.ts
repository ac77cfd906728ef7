import { defineCommand } from "citty";
import { keyrootArg, notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "crypto", description: "Encrypt and decrypt secret files and strings (original salty format)" },
  subCommands: {
    e: defineCommand({ meta: { name: "e", description: "Encrypt FILE... to FILE.enc (no file: stdin to stdout)" }, args: { ...keyrootArg }, run: () => notYet("crypto e") }),
    d: defineCommand({ meta: { name: "d", description: "Decrypt FILE.enc... to FILE (no file: stdin to stdout)" }, args: { ...keyrootArg }, run: () => notYet("crypto d") }),
    es: defineCommand({ meta: { name: "es", description: "Encrypt a string, print NACL[...]" }, args: { ...keyrootArg }, run: () => notYet("crypto es") }),
    ds: defineCommand({ meta: { name: "ds", description: "Decrypt a NACL[...] string" }, args: { ...keyrootArg }, run: () => notYet("crypto ds") }),
  },
});
