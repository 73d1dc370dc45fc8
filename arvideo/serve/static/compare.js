// The compare page: the server's results folder (arvideo serve --results DIR) as tables,
// figures and sample GIFs side by side. Names come from the server's own listing.
"use strict";

const $ = (id) => document.getElementById(id);

function figure(name, pixelated) {
  const item = document.createElement("figure");
  const image = document.createElement("img");
  image.src = `/results/${name.split("/").map(encodeURIComponent).join("/")}`;
  if (pixelated) image.className = "pixelated";
  const caption = document.createElement("figcaption");
  caption.textContent = name;
  item.append(image, caption);
  return item;
}

function rowsOf(data) { // a list of records, or a dict of records / values
  if (Array.isArray(data)) return data.map((row) => (typeof row === "object" && row ? row : { value: row }));
  if (data && typeof data === "object") {
    return Object.entries(data).map(([key, value]) =>
      value && typeof value === "object" && !Array.isArray(value) ? { name: key, ...value } : { name: key, value });
  }
  return [{ value: data }];
}

function cell(value) {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value).slice(0, 120) : String(value);
}

function table(name, data) {
  const rows = rowsOf(data);
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const section = document.createElement("section");
  const title = document.createElement("h1");
  title.textContent = name;
  const element = document.createElement("table");
  const head = element.insertRow();
  for (const column of columns) head.appendChild(document.createElement("th")).textContent = column;
  for (const row of rows) {
    const line = element.insertRow();
    for (const column of columns) line.insertCell().textContent = cell(row[column]);
  }
  section.append(title, element);
  return section;
}

async function load() {
  const listing = await (await fetch("/api/results")).json();
  if (!listing.folder) {
    $("folder").textContent = "No results folder: start the server with --results benchmarks/results";
    return;
  }
  $("folder").textContent = `${listing.files.length} files in ${listing.folder}`;
  for (const name of listing.files) {
    if (name.endsWith(".gif")) $("samples").appendChild(figure(name, true));
    else if (name.endsWith(".png")) $("figures").appendChild(figure(name, false));
    else if (name.endsWith(".json")) $("tables").appendChild(table(name, await (await fetch(`/results/${name}`)).json()));
  }
}

load();
