/* Does not compile: a misspelt identifier (gcc suggests 'pages'). */
int pages = 4;

int main(void)
{
	return pags;
}
