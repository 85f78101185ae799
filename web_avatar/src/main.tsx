import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { serverToken } from "./connection/auth";
import "./styles.css";

serverToken(); // takes a #token= out of the address bar before anything else runs

createRoot(document.getElementById("root")!).render(<StrictMode><App /></StrictMode>);
