// Next.js 15's types declare CSS modules only; TypeScript 6 checks side-effect imports such as
// import './globals.css' (Next.js 16 declares them itself).
declare module '*.css';
